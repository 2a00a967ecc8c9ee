'use strict';

// What the local osls plugins (scripts/osls-plugin-*.js) share: the hook that edits the finished template, where
// their settings and the template's resources are, and running the runtime's Python. Not a plugin itself.
const { spawnSync } = require('child_process');

// After resources and resources.extensions are merged and serverless-iam-roles-per-function (before:package:finalize)
// gave each function its role, before the template is written: the hook for a plugin that edits the whole template.
const TEMPLATE_COMPLETE_HOOK = 'before:aws:package:finalize:saveServiceState';

// A plugin's settings: custom.<key> in serverless.yml, undefined when the service has none.
const customSettings = (serverless, key) => (serverless.service.custom || {})[key];

// The resources of the template being compiled; plugins edit them in place.
const templateResources = (serverless) => serverless.service.provider.compiledCloudFormationTemplate.Resources;

// [logicalId, resource] pairs of one CloudFormation type, in template order.
const resourcesOfType = (resources, type) => Object.entries(resources).filter(([, resource]) => resource.Type === type);

// Runs `python args...` with the interpreter serverless-python-requirements installs with (pythonBin, else the
// runtime's name) and returns its stdout; a failure becomes the framework's error, "<failure>: <what it said>".
function runPython(serverless, args, failure, code) {
  const { service } = serverless;
  const pythonBin = customSettings(serverless, 'pythonRequirements')?.pythonBin || service.provider.runtime;
  const result = spawnSync(pythonBin, args, { encoding: 'utf8' });
  if (result.status !== 0) {
    const reason = result.error ? result.error.message : `${result.stdout}${result.stderr}`.trim();
    throw new serverless.classes.Error(`${failure}: ${reason}`, code);
  }
  return result.stdout;
}

module.exports = { TEMPLATE_COMPLETE_HOOK, customSettings, templateResources, resourcesOfType, runPython };
