'use strict';

// osls plugin: what removing a stack does to its log groups, for every log group the template has (the framework's
// one per function, and the service's own: API access logs, the workflow's). custom.logGroupDeletionPolicy is
// "Delete" or "Retain" (a param per stage: prod keeps its logs, which may be evidence, after a `remove`).
// Each service loads it through its ./osls-plugin-log-groups.js (osls loads local plugins from the service folder).
class LogGroupsPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      // After resources and resources.extensions are merged, before the template is written.
      'before:aws:package:finalize:saveServiceState': () => this.applyDeletionPolicy(),
    };
  }

  applyDeletionPolicy() {
    const { service } = this.serverless;
    const policy = (service.custom || {}).logGroupDeletionPolicy;
    if (!policy) return;
    if (!['Delete', 'Retain'].includes(policy)) {
      throw new this.serverless.classes.Error(
        `custom.logGroupDeletionPolicy must be Delete or Retain, not ${policy}`,
        'LOG_GROUP_POLICY'
      );
    }
    const resources = service.provider.compiledCloudFormationTemplate.Resources;
    for (const resource of Object.values(resources)) {
      if (resource.Type === 'AWS::Logs::LogGroup') {
        resource.DeletionPolicy = policy;
        resource.UpdateReplacePolicy = policy;
      }
    }
  }
}

module.exports = LogGroupsPlugin;
