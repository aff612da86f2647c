// A JSON Schema (2020-12) validator for the keywords packer/facts.schema.json uses: type, const, required,
// enum, properties, additionalProperties, items, $ref (local #/$defs/...), format date-time, and the annotations.
// A keyword it does not know is an error, so a schema change cannot pass unvalidated.
type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', '$defs']);
const KNOWN = new Set([
  ...ANNOTATIONS,
  'type',
  'const',
  'enum',
  'required',
  'properties',
  'additionalProperties',
  'items',
  '$ref',
  'format',
]);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

export function schemaErrors(root: object, value: unknown): string[] {
  const errors: string[] = [];
  const visit = (schema: Schema, node: unknown, where: string): void => {
    for (const keyword of Object.keys(schema))
      if (!KNOWN.has(keyword))
        errors.push(`${where}: schema keyword "${keyword}" is not supported by this validator`);
    if (typeof schema.$ref === 'string') {
      const target = schema.$ref.replace(/^#\//, '').split('/');
      let resolved: unknown = root;
      for (const part of target) resolved = (resolved as Record<string, unknown>)[part];
      if (!resolved) errors.push(`${where}: unresolved $ref ${schema.$ref}`);
      else visit(resolved as Schema, node, where);
    }
    if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(node))
      errors.push(`${where}: must be ${JSON.stringify(schema.const)}`);
    if (
      Array.isArray(schema.enum) &&
      !schema.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(node))
    )
      errors.push(`${where}: must be one of ${JSON.stringify(schema.enum)}`);
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
      if (!types.some((t) => matchesType(node, t))) {
        errors.push(`${where}: must be ${types.join(' or ')}, is ${typeOf(node)}`);
        return;
      }
    }
    if (schema.format === 'date-time' && typeof node === 'string' && Number.isNaN(Date.parse(node)))
      errors.push(`${where}: not a date-time`);
    if (typeOf(node) === 'object') {
      const object = node as Record<string, unknown>;
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      for (const name of (schema.required ?? []) as string[])
        if (!(name in object)) errors.push(`${where}: missing required "${name}"`);
      for (const [name, child] of Object.entries(object)) {
        if (properties[name]) visit(properties[name], child, `${where}.${name}`);
        else if (schema.additionalProperties === false)
          errors.push(`${where}: unexpected property "${name}"`);
      }
    }
    if (Array.isArray(node) && schema.items)
      node.forEach((item, i) => visit(schema.items as Schema, item, `${where}[${i}]`));
  };
  visit(root as Schema, value, '$');
  return errors;
}
