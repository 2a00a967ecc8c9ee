'use strict';

// osls plugin: the REST API's stage as a CloudFormation resource, with throttling and JSON access logs.
//
// The framework creates the stage implicitly (the Deployment's StageName) and sets tracing and logs through SDK
// calls after the deploy, which leaves no place for throttling and nothing a template test can check. This plugin
// moves the stage into the template: the Deployment loses its StageName and an AWS::ApiGateway::Stage takes it,
// with X-Ray tracing, the stage's default throttle, tighter throttles per route and a JSON access log line per
// request. Configuration (custom.apiStage in serverless.yml, fed by params):
//
//   apiStage:
//     tracing: true
//     throttle: { rateLimit: 50, burstLimit: 100 }            # every route of the stage, per second
//     routeThrottles:                                         # tighter limits on chosen routes
//       - { method: POST, path: /auth/signup, rateLimit: 1, burstLimit: 5 }
//     accessLogGroup: ApiAccessLogGroup                       # the logical id of a log group in resources
//     accessLogFormat: '{"requestId":"$context.requestId", ...}'
//     dependsOn: [ApiGatewayAccount]                          # what must exist first (the account's logging role)
//     metadata: { checkov: { skip: [...] } }                  # the resource's Metadata
//     corsOrigins: "https://app.example.com"                  # the API's allowed origins (param corsOrigins)
//     anyOriginRefusedIn: [prod]                              # stages that may not allow every origin ("*")
//
// Each API service loads it through its ./osls-plugin-api-stage.js (osls loads local plugins from the service
// folder only). Leave provider.tracing.apiGateway and provider.logs.restApi unset: the stage is this plugin's.
const { TEMPLATE_COMPLETE_HOOK, customSettings, resourcesOfType, templateResources } = require('./osls-plugin-support.js');

const STAGE_LOGICAL_ID = 'ApiGatewayStage';

// API Gateway's method-setting path: "/" and then the resource path with each "/" written "~1" (/auth/signup is
// /~1auth~1signup); "/*" means every route.
const methodSettingPath = (path) => '/' + ('/' + path.replace(/^\//, '')).replace(/\//g, '~1');

class ApiStagePlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:initialize': () => this.refuseAnyOrigin(),
      [TEMPLATE_COMPLETE_HOOK]: () => this.addStage(),
    };
  }

  // A real stage must name its web origins: "*" lets any site's script call the API with a user's token.
  refuseAnyOrigin() {
    const config = customSettings(this.serverless, 'apiStage');
    if (!config || !config.anyOriginRefusedIn) return;
    const stage = this.serverless.getProvider('aws').getStage();
    const origins = String(config.corsOrigins || '').split(',').map((origin) => origin.trim());
    if (config.anyOriginRefusedIn.includes(stage) && origins.includes('*')) {
      throw new this.serverless.classes.Error(
        `corsOrigins is "*" for stage ${stage}, which allows any web site to call the API: deploy with ` +
          '--param="corsOrigins=https://your-app.example.com" (comma-separated origins)',
        'CORS_ANY_ORIGIN'
      );
    }
  }

  addStage() {
    const config = customSettings(this.serverless, 'apiStage');
    const resources = templateResources(this.serverless);
    const deployments = resourcesOfType(resources, 'AWS::ApiGateway::Deployment');
    if (!config || deployments.length === 0) return; // a service without an API, or without apiStage settings
    if (deployments.length !== 1) {
      throw new this.serverless.classes.Error('Expected one API Gateway deployment', 'API_STAGE');
    }
    const [deploymentId, deployment] = deployments[0];
    const stageName = deployment.Properties.StageName;
    delete deployment.Properties.StageName;
    const throttle = (settings) => ({
      ThrottlingRateLimit: Number(settings.rateLimit),
      ThrottlingBurstLimit: Number(settings.burstLimit),
    });
    const methodSettings = [
      { HttpMethod: '*', ResourcePath: '/*', MetricsEnabled: true, ...throttle(config.throttle) },
      ...(config.routeThrottles || []).map((route) => ({
        HttpMethod: route.method.toUpperCase(),
        ResourcePath: methodSettingPath(route.path),
        MetricsEnabled: true,
        ...throttle(route),
      })),
    ];
    resources[STAGE_LOGICAL_ID] = {
      Type: 'AWS::ApiGateway::Stage',
      ...(config.dependsOn ? { DependsOn: config.dependsOn } : {}),
      ...(config.metadata ? { Metadata: config.metadata } : {}),
      Properties: {
        RestApiId: { Ref: 'ApiGatewayRestApi' },
        DeploymentId: { Ref: deploymentId },
        StageName: stageName,
        TracingEnabled: Boolean(config.tracing),
        MethodSettings: methodSettings,
        AccessLogSetting: {
          DestinationArn: { 'Fn::GetAtt': [config.accessLogGroup, 'Arn'] },
          Format: config.accessLogFormat,
        },
      },
    };
  }
}

module.exports = ApiStagePlugin;
