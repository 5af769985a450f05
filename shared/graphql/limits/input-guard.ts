// Input a client may not send in any argument or variable, whatever the field:
//  - NUL characters: PostgreSQL cannot store U+0000 in text and answers with an engine error,
//    so one guard here replaces a check in every resolver;
//  - strings that are not Unicode (a lone UTF-16 surrogate, `"\ud800"` in JSON): PostgreSQL's
//    json refuses them too, so a registration failed as INTERNAL_SERVER_ERROR at its outbox row;
//  - variables nested deeper than any input type of the API: graphql-js coerces them
//    recursively and overflows the stack on a few thousand levels of `[[[…]]]`;
//  - variables holding more values than any input of the API needs (a 1 MB body holds half a
//    million array elements, and walking them is most of what such a request costs).
// All are BAD_USER_INPUT, checked once the operation is known and before anything runs. Only the
// variables the operation declares are read: graphql-js ignores the others, so should we.
import { Kind, visit, type DocumentNode, type VariableDefinitionNode } from 'graphql';
import { AppError, ErrorCode } from '../../errors.ts';

/** Deeper than any input object of the schema needs, far below what recursion survives. */
export const MAX_VARIABLE_NESTING = 32;

/** Far more than any input of the API holds (an order has at most 100 lines of two fields). */
export const MAX_VARIABLE_VALUES = 10_000;

const NUL = '\u0000';

export class ForbiddenInputError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(ErrorCode.BAD_USER_INPUT, message, details);
  }
}

/**
 * Documents already walked and found clean. Apollo Server hands every request with the same text
 * the same parsed document (its document cache), so a document is walked once, not per request;
 * held weakly, so the cache's evictions free them.
 */
const cleanDocuments = new WeakSet<DocumentNode>();

/** Throws for a string literal with a NUL anywhere in the document. */
export function checkDocumentStrings(document: DocumentNode): void {
  if (cleanDocuments.has(document)) return;
  visit(document, {
    [Kind.STRING]: (node) => {
      if (node.value.includes(NUL)) {
        throw new ForbiddenInputError('Strings may not contain the NUL character (\\u0000)');
      }
    },
  });
  cleanDocuments.add(document);
}

/**
 * Throws for a NUL or a lone surrogate in any string of the declared variables, or variables
 * nested too deeply or holding too many values.
 */
export function checkVariables(
  variables: Readonly<Record<string, unknown>> | undefined,
  declared: readonly VariableDefinitionNode[] | undefined,
): void {
  if (!variables || !declared) return;
  // An explicit stack: the walk itself must not recurse on hostile nesting.
  const values: unknown[] = [];
  const levels: number[] = [];
  const names: string[] = [];
  for (const definition of declared) {
    const name = definition.variable.name.value;
    if (!Object.hasOwn(variables, name)) continue;
    values.push(variables[name]);
    levels.push(0);
    names.push(name);
  }
  let walked = 0;
  while (values.length > 0) {
    const value = values.pop();
    const level = levels.pop()!;
    const name = names.pop()!;
    if (++walked > MAX_VARIABLE_VALUES) {
      throw new ForbiddenInputError(`The variables hold more than ${MAX_VARIABLE_VALUES} values`, {
        field: name,
      });
    }
    if (typeof value === 'string') {
      if (value.includes(NUL)) {
        throw new ForbiddenInputError(`Variable "$${name}" contains the NUL character (\\u0000)`, {
          field: name,
        });
      }
      if (!value.isWellFormed()) {
        throw new ForbiddenInputError(
          `Variable "$${name}" contains a lone UTF-16 surrogate: it is not a Unicode string`,
          { field: name },
        );
      }
    } else if (value !== null && typeof value === 'object') {
      if (level >= MAX_VARIABLE_NESTING) {
        throw new ForbiddenInputError(
          `Variable "$${name}" is nested more than ${MAX_VARIABLE_NESTING} levels deep`,
          { field: name },
        );
      }
      const inner = Array.isArray(value) ? value : Object.values(value);
      for (const item of inner) {
        values.push(item);
        levels.push(level + 1);
        names.push(name);
      }
    }
  }
}
