'use strict';

// osls plugin: adds checked-hash .pyc (for the functions' runtime) to every zip the framework packages, for the
// service's own code and its requirements alike, so Lambda cold starts import bytecode instead of compiling every
// module from source (/var/task is read-only: nothing compiled there is kept). The work is done by
// scripts/lambda_bytecode.py with the same interpreter serverless-python-requirements installs with (pythonBin).
// Each service loads it through its ./osls-plugin-bytecode.js, listed after serverless-python-requirements so that
// the requirements are in the zip by the time it runs.
const fs = require('fs');
const path = require('path');
const { runPython } = require('./osls-plugin-support.js');

const SCRIPT = path.join(__dirname, 'lambda_bytecode.py');

class BytecodePlugin {
  constructor(serverless, cliOptions, { log }) {
    this.serverless = serverless;
    this.log = log;
    this.hooks = {
      'after:package:createDeploymentArtifacts': () => this.addBytecode(),
      'after:deploy:function:packageFunction': () => this.addBytecode(),
    };
  }

  // The zips packaged by this run: the service's, each function's when packaged on its own, and each layer's.
  artifacts() {
    const { service, serviceDir } = this.serverless;
    const paths = [service.package && service.package.artifact];
    for (const functionName of service.getAllFunctions()) {
      const functionPackage = service.getFunction(functionName).package;
      paths.push(functionPackage && functionPackage.artifact);
    }
    for (const layer of Object.values(service.layers || {})) paths.push(layer.package && layer.package.artifact);
    const zips = paths
      .filter((artifact) => typeof artifact === 'string' && artifact.endsWith('.zip'))
      .map((artifact) => path.resolve(serviceDir, artifact));
    return [...new Set(zips)].filter((zip) => fs.existsSync(zip));
  }

  addBytecode() {
    const { runtime } = this.serverless.service.provider;
    const zips = this.artifacts();
    if (!zips.length) return;
    const args = [SCRIPT, 'add', '--runtime', runtime, ...zips];
    const report = runPython(this.serverless, args, 'Adding bytecode to the package failed', 'BYTECODE_FAILED');
    for (const line of report.trim().split('\n')) this.log.info(line);
  }
}

module.exports = BytecodePlugin;
