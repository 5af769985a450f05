// Input a client may not send in any argument or variable, whatever the field:
//  - NUL characters: PostgreSQL cannot store U+0000 in text and answers with an engine error,
//    so one guard here replaces a check in every resolver;
//  - variables nested deeper than any input type of the API: graphql-js coerces them
//    recursively and overflows the stack on a few thousand levels of `[[[…]]]`.
// Both are BAD_USER_INPUT, checked once the operation is known and before anything runs.
import { Kind, visit, type DocumentNode } from 'graphql';
import { AppError, ErrorCode } from '../../errors.ts';

/** Deeper than any input object of the schema needs, far below what recursion survives. */
export const MAX_VARIABLE_NESTING = 32;

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

/** Throws for a NUL in any string of the variables, or variables nested too deeply. */
export function checkVariables(variables: Readonly<Record<string, unknown>> | undefined): void {
  if (!variables) return;
  // An explicit stack: the walk itself must not recurse on hostile nesting.
  const stack: { value: unknown; level: number; name: string }[] = Object.entries(variables).map(
    ([name, value]) => ({ value, level: 0, name }),
  );
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value, level, name } = item;
    if (typeof value === 'string') {
      if (value.includes(NUL)) {
        throw new ForbiddenInputError(`Variable "$${name}" contains the NUL character (\\u0000)`, {
          field: name,
        });
      }
    } else if (value !== null && typeof value === 'object') {
      if (level >= MAX_VARIABLE_NESTING) {
        throw new ForbiddenInputError(
          `Variable "$${name}" is nested more than ${MAX_VARIABLE_NESTING} levels deep`,
          { field: name },
        );
      }
      for (const inner of Object.values(value)) stack.push({ value: inner, level: level + 1, name });
    }
  }
}
