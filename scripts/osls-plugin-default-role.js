'use strict';

// osls plugin: drops the framework's default role (IamRoleLambdaExecution) when no resource uses it.
//
// Every function here has a role of its own (serverless-iam-roles-per-function), yet the framework still creates
// its shared default role, with the logs and event-source permissions of all the functions together (in processing:
// receive and delete on the ingest queue). Nobody assumes it, but it is a standing grant a mistake could put to
// use; least privilege says remove it. The role stays if anything refers to it (Ref, Fn::GetAtt, DependsOn, Sub).
// Each service loads it through its ./osls-plugin-default-role.js (osls loads local plugins from the service
// folder only).
const { TEMPLATE_COMPLETE_HOOK } = require('./osls-plugin-support.js');

const DEFAULT_ROLE = 'IamRoleLambdaExecution';

class DefaultRolePlugin {
  constructor(serverless) {
    this.serverless = serverless;
    // Only once every function has its own role does the template show whether anything still uses this one.
    this.hooks = { [TEMPLATE_COMPLETE_HOOK]: () => this.dropUnusedDefaultRole() };
  }

  dropUnusedDefaultRole() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    if (!template.Resources[DEFAULT_ROLE]) return;
    const { [DEFAULT_ROLE]: role, ...others } = template.Resources;
    // A whole-word match: the per-function roles (ApiIamRoleLambdaExecution) are other names.
    const mention = new RegExp(`(^|[^A-Za-z0-9])${DEFAULT_ROLE}([^A-Za-z0-9]|$)`);
    const rest = JSON.stringify({ Resources: others, Outputs: template.Outputs || {} });
    if (!mention.test(rest)) {
      delete template.Resources[DEFAULT_ROLE];
    }
  }
}

module.exports = DefaultRolePlugin;
