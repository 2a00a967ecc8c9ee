'use strict';

// osls plugin: resources whose logical id carries a version, from custom.versionedLogicalIds ({ LogicalId: version }).
// CloudFront cannot change a public key in place (its update API changes only the comment), so a new key must be a
// new resource: bumping the version renames the resource, and CloudFormation creates the new one, repoints every
// reference (the key group, the outputs) and deletes the old one. osls resolves no variables in keys, hence this.
// Each service loads it through its ./osls-plugin-versioned-ids.js (osls loads local plugins from the service folder).
const { TEMPLATE_COMPLETE_HOOK, customSettings } = require('./osls-plugin-support.js');

// Every reference CloudFormation has to a logical id: Ref, Fn::GetAtt (list or "Id.Attr") and ${Id} in Fn::Sub.
function renamed(node, from, to) {
  if (Array.isArray(node)) return node.map((item) => renamed(item, from, to));
  if (node === null || typeof node !== 'object') return node;
  const result = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'Ref' && value === from) result[key] = to;
    else if (key === 'Fn::GetAtt' && Array.isArray(value) && value[0] === from) result[key] = [to, ...value.slice(1)];
    else if (key === 'Fn::GetAtt' && typeof value === 'string' && value.startsWith(`${from}.`)) {
      result[key] = `${to}${value.slice(from.length)}`;
    } else if (key === 'Fn::Sub') result[key] = renamedInSub(value, from, to);
    else result[key] = renamed(value, from, to);
  }
  return result;
}

function renamedInSub(value, from, to) {
  const pattern = new RegExp(`\\$\\{${from}([.}])`, 'g');
  if (typeof value === 'string') return value.replace(pattern, `\${${to}$1`);
  if (Array.isArray(value) && typeof value[0] === 'string') {
    return [value[0].replace(pattern, `\${${to}$1`), renamed(value[1], from, to)];
  }
  return renamed(value, from, to);
}

// The framework and the other plugins hold the template's sections: they are edited in place, never swapped.
function replaceContents(target, contents) {
  for (const key of Object.keys(target)) delete target[key];
  Object.assign(target, contents);
}

class VersionedIdsPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { [TEMPLATE_COMPLETE_HOOK]: () => this.version() };
  }

  version() {
    const versions = customSettings(this.serverless, 'versionedLogicalIds') || {};
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    for (const [logicalId, version] of Object.entries(versions)) {
      if (!/^[A-Za-z0-9]+$/.test(String(version))) {
        throw new this.serverless.classes.Error(
          `custom.versionedLogicalIds.${logicalId} must be letters and digits (it joins a logical id), not ${version}`,
          'VERSIONED_ID'
        );
      }
      if (!template.Resources[logicalId]) {
        throw new this.serverless.classes.Error(`custom.versionedLogicalIds names no resource: ${logicalId}`, 'VERSIONED_ID');
      }
      const versioned = `${logicalId}V${version}`;
      const { [logicalId]: resource, ...others } = template.Resources;
      replaceContents(template.Resources, renamed({ ...others, [versioned]: resource }, logicalId, versioned));
      if (template.Outputs) replaceContents(template.Outputs, renamed(template.Outputs, logicalId, versioned));
    }
  }
}

module.exports = VersionedIdsPlugin;
