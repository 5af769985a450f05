// Walking a subscription's document: the fields, fragments, response keys and variables the
// rewrite in operation.ts needs to know about.
import {
  Kind,
  visit,
  type ASTNode,
  type ArgumentNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';

/** The variables that `nodes`, `set` and the fragments it spreads refer to. */
export function usedVariables(
  nodes: readonly (ArgumentNode | DirectiveNode)[],
  set: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
): Set<string> {
  const names = new Set<string>();
  const collect = (node: ASTNode) =>
    visit(node, {
      Variable: (v) => {
        names.add(v.name.value);
      },
    });
  for (const node of nodes) collect(node);
  collect(set);
  const spread = new Set<string>();
  collectFragmentNames(set, fragments, spread);
  for (const name of spread) {
    const def = fragments.get(name);
    if (def) collect(def.selectionSet);
  }
  return names;
}

export function hiddenField(alias: string, name: string): FieldNode {
  return {
    kind: Kind.FIELD,
    alias: { kind: Kind.NAME, value: alias },
    name: { kind: Kind.NAME, value: name },
  };
}

export function freeName(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  let n = 1;
  while (taken.has(`${base}${n}`)) n += 1;
  return `${base}${n}`;
}

export function fragmentMap(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const map = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) map.set(def.name.value, def);
  }
  return map;
}

/** The root fields, looking through fragment spreads and inline fragments. */
export function rootFields(
  set: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
): FieldNode[] {
  const fields: FieldNode[] = [];
  const visit = (selections: readonly SelectionNode[], seen: Set<string>) => {
    for (const s of selections) {
      if (s.kind === Kind.FIELD) fields.push(s);
      else if (s.kind === Kind.INLINE_FRAGMENT) visit(s.selectionSet.selections, seen);
      else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        const def = fragments.get(s.name.value);
        if (def) visit(def.selectionSet.selections, seen);
      }
    }
  };
  visit(set.selections, new Set());
  return fields;
}

/** The response keys selected directly on the object (through fragments too). */
export function collectResponseKeys(
  set: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  keys: Set<string>,
  seen: Set<string>,
): void {
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) keys.add(s.alias?.value ?? s.name.value);
    else if (s.kind === Kind.INLINE_FRAGMENT) collectResponseKeys(s.selectionSet, fragments, keys, seen);
    else if (!seen.has(s.name.value)) {
      seen.add(s.name.value);
      const def = fragments.get(s.name.value);
      if (def) collectResponseKeys(def.selectionSet, fragments, keys, seen);
    }
  }
}

export function collectFragmentNames(
  set: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  names: Set<string>,
): void {
  for (const s of set.selections) {
    if (s.kind === Kind.FRAGMENT_SPREAD) {
      if (names.has(s.name.value)) continue;
      names.add(s.name.value);
      const def = fragments.get(s.name.value);
      if (def) collectFragmentNames(def.selectionSet, fragments, names);
    } else if (s.selectionSet) collectFragmentNames(s.selectionSet, fragments, names);
  }
}
