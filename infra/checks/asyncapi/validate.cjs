// Parses an AsyncAPI document with @asyncapi/parser (Avro payloads through
// @asyncapi/avro-schema-parser) and exits non-zero on any error-severity
// diagnostic, printing every diagnostic. Run by infra/checks/asyncapi.sh:
//   node validate.cjs docs/asyncapi.json
//
// For AsyncAPI 3 the parser converts multi-format schemas ({schemaFormat,
// schema}) without validating them (its v3 ruleset has no schema rule, and an
// unknown format passes silently), so each one is also validated here by the
// schema parser registered for its format; a format without one is an error.
'use strict';

const fs = require('node:fs');
const { Parser, DiagnosticSeverity } = require('@asyncapi/parser');
const { AvroSchemaParser } = require('@asyncapi/avro-schema-parser');

const SEVERITY = ['error', 'warning', 'information', 'hint'];

/** Every multi-format schema object in `value`, with its JSON path. */
function multiFormatSchemas(value, path = [], out = []) {
  if (Array.isArray(value)) {
    value.forEach((item, i) => multiFormatSchemas(item, [...path, String(i)], out));
  } else if (value && typeof value === 'object') {
    if (typeof value.schemaFormat === 'string' && value.schema !== undefined) {
      out.push({ path, schemaFormat: value.schemaFormat, schema: value.schema });
    }
    for (const [key, item] of Object.entries(value)) multiFormatSchemas(item, [...path, key], out);
  }
  return out;
}

async function validateSchemas(parser, raw) {
  const diagnostics = [];
  const schemas = multiFormatSchemas(raw);
  for (const { path, schemaFormat, schema } of schemas) {
    const schemaParser = parser.parserRegistry.get(schemaFormat);
    if (!schemaParser) {
      diagnostics.push({ path, message: `no schema parser for ${schemaFormat}` });
      continue;
    }
    const found = await schemaParser.validate({
      asyncapi: raw,
      data: schema,
      path: [...path, 'schema'],
      schemaFormat,
      defaultSchemaFormat: `application/vnd.aai.asyncapi;version=${raw.asyncapi}`,
    });
    diagnostics.push(...(found || []).map((d) => ({ path: d.path || path, message: d.message })));
  }
  return { count: schemas.length, diagnostics };
}

async function main(file) {
  if (!file) throw new Error('usage: node validate.cjs <asyncapi.json>');
  const parser = new Parser();
  parser.registerSchemaParser(AvroSchemaParser());
  const text = fs.readFileSync(file, 'utf8');
  const { document, diagnostics } = await parser.parse(text, { source: file });
  const schemas = await validateSchemas(parser, JSON.parse(text));
  for (const d of schemas.diagnostics) {
    diagnostics.push({ ...d, code: 'schema-format', severity: DiagnosticSeverity.Error });
  }
  for (const d of diagnostics) {
    const where = d.path && d.path.length ? d.path.join('/') : '(document)';
    console.log(`${SEVERITY[d.severity] ?? d.severity}  ${d.code}  ${where}: ${d.message}`);
  }
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  if (errors.length > 0 || !document || schemas.count === 0) {
    console.error(`${file}: ${errors.length} error(s); not a valid AsyncAPI document`);
    return 1;
  }
  console.log(
    `${file}: valid AsyncAPI ${document.version()}, ${document.channels().length} channels, ` +
      `${document.operations().length} operations, ${document.messages().length} messages, ` +
      `${schemas.count} multi-format schemas validated`,
  );
  return 0;
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  },
);
