// One login or register per operation, checked here too although the gateway refuses more
// (defence in depth: this subgraph may be reached without the gateway). Each costs a password
// hash, so aliases would multiply the work one request can ask for.
import {
  Kind,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { AppError, ErrorCode } from '../../../../shared/errors.ts';

const CREDENTIAL_FIELDS: ReadonlySet<string> = new Set(['login', 'register']);

/**
 * The operation's distinct login/register root fields, by response key (a field spelt twice
 * under one key runs once). Each fragment is read once.
 */
export function countCredentialFields(
  operation: OperationDefinitionNode,
  fragments: Readonly<Record<string, FragmentDefinitionNode>>,
): number {
  if (operation.operation !== 'mutation') return 0;
  const keys = new Set<string>();
  const visited = new Set<string>();
  const walk = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (CREDENTIAL_FIELDS.has(selection.name.value))
          keys.add(selection.alias?.value ?? selection.name.value);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments[selection.name.value];
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return keys.size;
}

/** Throws BAD_USER_INPUT, before any password is hashed, when the operation has more than one. */
export function assertOneCredentialField(info: GraphQLResolveInfo): void {
  if (countCredentialFields(info.operation, info.fragments) > 1) {
    throw new AppError(ErrorCode.BAD_USER_INPUT, 'Send one login or register per operation');
  }
}
