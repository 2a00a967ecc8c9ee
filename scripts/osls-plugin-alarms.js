'use strict';

// osls plugin: the alarms every service needs, generated from the template instead of repeated per function, and
// every alarm of the template wired to the platform's alarm topic (docs/deploy.md: Alarms). For each
// AWS::Lambda::Function it adds <Function>ErrorsAlarm and <Function>ThrottlesAlarm; for the REST API, if there is
// one, ApiGateway5xxRateAlarm; then every AWS::CloudWatch::Alarm without actions of its own (these and the
// service's own, such as processing's WorkflowFailuresAlarm) notifies the topic when it fires and when it clears.
// Configuration (custom.alarms in serverless.yml):
//
//   alarms:
//     topic: ${param:alarmTopicArn}   # the topic's ARN, or an intrinsic (auth: the topic it creates or the one given)
//     listenerRequiredIn: [prod]       # auth only: stages that must name who hears the alarms,
//     givenTopic: ${param:alarmTopicArn}   # either a topic of the operator's own
//     email: ${param:alarmEmail}           # or an address subscribed to the created topic
//
// Each service loads it through its ./osls-plugin-alarms.js (osls loads local plugins from the service folder only).
const { TEMPLATE_COMPLETE_HOOK, customSettings, resourcesOfType, templateResources } = require('./osls-plugin-support.js');

// Five minutes: the finest period standard Lambda and API Gateway metrics are worth alarming on without noise, and
// the longest an operator should wait to hear of trouble.
const PERIOD_SECONDS = 300;

// Any unhandled error is a bug or a crash (the handlers turn every expected failure into an answer), so one is
// worth a look. Throttling for a moment is expected under a burst (SQS and Step Functions retry a throttled call);
// throttling in three five-minute periods in a row means the reserved concurrency or the account limit is too low.
const FUNCTION_ALARMS = {
  Errors: { evaluationPeriods: 1, datapointsToAlarm: 1, meaning: 'failed with an unhandled error' },
  Throttles: { evaluationPeriods: 3, datapointsToAlarm: 3, meaning: 'was throttled for 15 minutes' },
};

// 5XXError's average is the share of requests answered 5xx. 5% in two periods in a row: a broken dependency or a
// bad deploy, not a single request that failed (that one is in the function's Errors alarm already).
const API_5XX_RATE = 0.05;
const API_5XX_PERIODS = 2;

class AlarmsPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { [TEMPLATE_COMPLETE_HOOK]: () => this.addAlarms() };
  }

  addAlarms() {
    const config = customSettings(this.serverless, 'alarms');
    if (!config) return;
    if (!config.topic) {
      throw new this.serverless.classes.Error('custom.alarms.topic is empty: alarms would notify nobody', 'ALARMS');
    }
    const stage = this.serverless.getProvider('aws').getStage();
    if ((config.listenerRequiredIn || []).includes(stage) && !config.givenTopic && !config.email) {
      // A created topic without a subscriber: every alarm would fire into the void.
      throw new this.serverless.classes.Error(
        `stage ${stage} would create an alarm topic nobody listens to: deploy with ` +
          '--param="alarmEmail=oncall@example.com" or --param="alarmTopicArn=<an SNS topic of yours>"',
        'ALARMS_NOBODY_LISTENS',
      );
    }
    const resources = templateResources(this.serverless);
    const add = (logicalId, properties) => {
      if (resources[logicalId]) {
        throw new this.serverless.classes.Error(`${logicalId} exists already`, 'ALARMS');
      }
      resources[logicalId] = { Type: 'AWS::CloudWatch::Alarm', Properties: properties };
    };
    const threshold = (periods, datapoints) => ({
      Period: PERIOD_SECONDS,
      EvaluationPeriods: periods,
      DatapointsToAlarm: datapoints,
      ComparisonOperator: 'GreaterThanThreshold',
      // No invocations, no requests: nothing is wrong.
      TreatMissingData: 'notBreaching',
    });

    for (const [logicalId, resource] of Object.entries({ ...resources })) {
      if (resource.Type === 'AWS::Lambda::Function') {
        const base = logicalId.replace(/LambdaFunction$/, '');
        const name = resource.Properties.FunctionName || base;
        for (const [metric, rule] of Object.entries(FUNCTION_ALARMS)) {
          add(`${base}${metric}Alarm`, {
            AlarmDescription: `Lambda function ${name} ${rule.meaning} (docs/deploy.md: Alarms).`,
            Namespace: 'AWS/Lambda',
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId } }],
            Statistic: 'Sum',
            Threshold: 0,
            ...threshold(rule.evaluationPeriods, rule.datapointsToAlarm),
          });
        }
      }
      if (resource.Type === 'AWS::ApiGateway::RestApi') {
        add('ApiGateway5xxRateAlarm', {
          AlarmDescription:
            `More than ${API_5XX_RATE * 100}% of the requests to ${resource.Properties.Name} were answered 5xx ` +
            `in ${API_5XX_PERIODS} five-minute periods in a row (docs/deploy.md: Alarms).`,
          Namespace: 'AWS/ApiGateway',
          MetricName: '5XXError',
          Dimensions: [
            { Name: 'ApiName', Value: resource.Properties.Name },
            { Name: 'Stage', Value: stage },
          ],
          Statistic: 'Average',
          Threshold: API_5XX_RATE,
          ...threshold(API_5XX_PERIODS, API_5XX_PERIODS),
        });
      }
    }

    for (const [, alarm] of resourcesOfType(resources, 'AWS::CloudWatch::Alarm')) {
      if (!alarm.Properties.AlarmActions) {
        alarm.Properties.AlarmActions = [config.topic];
        alarm.Properties.OKActions = [config.topic]; // "it cleared" closes the loop for whoever was told
      }
    }
  }
}

module.exports = AlarmsPlugin;
