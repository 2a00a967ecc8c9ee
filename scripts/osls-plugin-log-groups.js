'use strict';

// osls plugin: what removing a stack does to its log groups, for every log group the template has (the framework's
// one per function, and the service's own: API access logs, the workflow's). custom.logGroupDeletionPolicy is
// "Delete" or "Retain" (a param per stage: prod keeps its logs, which may be evidence, after a `remove`).
// Each service loads it through its ./osls-plugin-log-groups.js (osls loads local plugins from the service folder).
const { TEMPLATE_COMPLETE_HOOK, customSettings, resourcesOfType, templateResources } = require('./osls-plugin-support.js');

class LogGroupsPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { [TEMPLATE_COMPLETE_HOOK]: () => this.applyDeletionPolicy() };
  }

  applyDeletionPolicy() {
    const policy = customSettings(this.serverless, 'logGroupDeletionPolicy');
    if (!policy) return;
    if (!['Delete', 'Retain'].includes(policy)) {
      throw new this.serverless.classes.Error(
        `custom.logGroupDeletionPolicy must be Delete or Retain, not ${policy}`,
        'LOG_GROUP_POLICY'
      );
    }
    for (const [, logGroup] of resourcesOfType(templateResources(this.serverless), 'AWS::Logs::LogGroup')) {
      logGroup.DeletionPolicy = policy;
      logGroup.UpdateReplacePolicy = policy;
    }
  }
}

module.exports = LogGroupsPlugin;
