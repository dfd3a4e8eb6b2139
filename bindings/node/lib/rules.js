'use strict';
// mockOutbound's spec -> a contract rule (section 4). Pure translation: keys
// are only sorted into rule / when / then; the core validates everything, so
// a misspelt predicate reaches it (as when.<key>) and comes back as an
// InvalidRuleError naming the rule index and field.
const RULE_KEYS = new Set(['name', 'id', 'priority', 'consume', 'latencyMs']);

/**
 * @param {object} spec e.g. { method: 'GET', host: 'api.example.com', path: '/v1/x',
 *   response: { status: 200, body: {...} } } or { ..., error: { status: 503 } } or
 *   { ..., action: 'passthrough' }; `when` may be given explicitly too.
 */
function ruleFromSpec(spec) {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new TypeError('mockOutbound(spec): spec must be an object such as { host, path, response: { status, body } }');
  }
  const rule = {};
  const when = { direction: 'outbound' };
  let then = null;
  for (const key of Object.keys(spec)) {
    const value = spec[key];
    if (value === undefined) continue;
    if (RULE_KEYS.has(key)) rule[key] = value;
    else if (key === 'when') Object.assign(when, value);
    else if (key === 'then') then = value;
    else if (key === 'response') then = { action: 'mock', response: value };
    else if (key === 'error') then = { action: 'error', error: value };
    else if (key === 'action') then = { action: value };
    else when[key] = value;
  }
  if (then === null) then = { action: 'mock', response: { status: 200 } };
  else if (spec.action && spec.response) then.response = spec.response;
  rule.when = when;
  rule.then = then;
  return rule;
}

module.exports = { ruleFromSpec };
