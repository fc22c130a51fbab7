// Validate an AsyncAPI document with the AsyncAPI parser (and its Avro payloads): prints what it
// found as JSON, exits 1 when the document is not valid. Usage: node validate-asyncapi.mjs FILE
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';

const parser = new Parser();
parser.registerSchemaParser(AvroSchemaParser());
const text = readFileSync(process.argv[2], 'utf8');
const { document, diagnostics } = await parser.parse(text);
const errors = diagnostics.filter((d) => d.severity === 0);
console.log(JSON.stringify({
  valid: document !== undefined && errors.length === 0,
  errors: errors.map((d) => `${d.path.join('/')}: ${d.message}`),
  warnings: diagnostics.filter((d) => d.severity === 1).map((d) => `${d.path.join('/')}: ${d.message}`),
  channels: document ? document.channels().length : 0,
  messages: document ? document.allMessages().length : 0,
}));
process.exit(document !== undefined && errors.length === 0 ? 0 : 1);
