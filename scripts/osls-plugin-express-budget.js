// An Express workflow's time budget (param workflowType EXPRESS; docs/architecture.md: Standard or Express).
// An Express execution lasts at most 300 s, so statemachine.asl.yaml's Standard timeouts (a 1200 s run, 150 s image
// tasks over 120 s functions) cannot stay: for every EXPRESS state machine this sets the run's TimeoutSeconds, each
// task's that has one, and its function's timeout from custom.expressBudget. A STANDARD machine is left as written.
'use strict';

const { customSettings } = require('./osls-plugin-support.js');

const EXPRESS_MAX_SECONDS = 300;

class ExpressBudget {
  constructor(serverless) {
    this.serverless = serverless;
    // After serverless-step-functions has read the state machines (package:initialize), before anything compiles.
    this.hooks = { 'after:package:initialize': () => this.apply() };
  }

  apply() {
    const service = this.serverless.service;
    const machines = (service.stepFunctions && service.stepFunctions.stateMachines) || {};
    const budget = customSettings(this.serverless, 'expressBudget') || {};
    const naming = this.serverless.getProvider('aws').naming;
    for (const [key, machine] of Object.entries(machines)) {
      if (machine.type !== 'EXPRESS') continue;
      const { workflowTimeoutSeconds, taskTimeoutSeconds, functionTimeoutSeconds } = budget;
      if (!(workflowTimeoutSeconds <= EXPRESS_MAX_SECONDS && functionTimeoutSeconds < taskTimeoutSeconds)) {
        throw new this.serverless.classes.Error(
          `${key}: custom.expressBudget must fit ${EXPRESS_MAX_SECONDS} s, each task over its function`,
          'EXPRESS_BUDGET',
        );
      }
      machine.definition.TimeoutSeconds = workflowTimeoutSeconds;
      for (const state of Object.values(machine.definition.States)) {
        if (state.Type !== 'Task' || state.TimeoutSeconds === undefined) continue;
        state.TimeoutSeconds = taskTimeoutSeconds;
        const logicalId = state.Resource['Fn::GetAtt'][0];
        const name = Object.keys(service.functions).find((f) => naming.getLambdaLogicalId(f) === logicalId);
        service.functions[name].timeout = functionTimeoutSeconds;
      }
    }
  }
}

module.exports = ExpressBudget;
