'use strict';

// osls plugin: fills each Lambda layer named in custom.layerRequirements ({ layerName: requirements file }) with
// those requirements before the framework zips it, so that a heavy library some functions need (pillow-heif for the
// processing steps that decode HEIC) ships once, in a layer only those functions use, instead of in every zip.
// pip runs with serverless-python-requirements' own settings (pythonBin, pipCmdExtraArgs: the runtime's aarch64
// wheels) and --no-deps: what the layer's packages depend on (Pillow) is in the function zips already.
// Each service loads it through its ./osls-plugin-layer-requirements.js.
//
// Packaging must stay offline (scripts/package_services.py, tests/test_templates.py): the framework asks
// CloudFormation whether a layer is already deployed (to skip uploading it again), and an unreachable or refused
// CloudFormation then fails the whole package. Here that question, when it cannot be answered, means "not deployed":
// the layer is uploaded again on deploy, which is always correct.
const fs = require('fs');
const path = require('path');
const { customSettings, runPython } = require('./osls-plugin-support.js');

class LayerRequirementsPlugin {
  constructor(serverless, cliOptions, { log }) {
    this.serverless = serverless;
    this.log = log;
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.fillLayers(),
      'before:package:compileLayers': () => this.answerOfflineLayerChecks(),
    };
  }

  answerOfflineLayerChecks() {
    const compiler = this.serverless.pluginManager.plugins.find((plugin) => typeof plugin.compareWithLastLayer === 'function');
    if (!compiler) return;
    const compare = compiler.compareWithLastLayer.bind(compiler);
    compiler.compareWithLastLayer = async (layerName) => {
      try {
        await compare(layerName);
      } catch (error) {
        this.log.info(`Layer ${layerName}: no deployed stack could be asked (${error.code || error.name}); it will be uploaded`);
      }
    };
  }

  fillLayers() {
    const { service, serviceDir } = this.serverless;
    const wanted = customSettings(this.serverless, 'layerRequirements') || {};
    const pipCmdExtraArgs = customSettings(this.serverless, 'pythonRequirements')?.pipCmdExtraArgs || [];
    for (const [layerName, requirements] of Object.entries(wanted)) {
      const layer = (service.layers || {})[layerName];
      if (!layer || !layer.path) {
        throw new this.serverless.classes.Error(`custom.layerRequirements names ${layerName}, which is no layer with a path`, 'LAYER_REQUIREMENTS');
      }
      const target = path.resolve(serviceDir, layer.path, 'python');  // Lambda puts /opt/python on sys.path
      fs.rmSync(path.resolve(serviceDir, layer.path), { recursive: true, force: true });  // never a stale file
      const args = ['-m', 'pip', 'install', '--quiet', '--no-deps', '--target', target,
        '-r', path.resolve(serviceDir, requirements), ...pipCmdExtraArgs];
      runPython(this.serverless, args, `Installing ${requirements} into layer ${layerName} failed`, 'LAYER_REQUIREMENTS');
      for (const cache of this.pycacheDirs(target)) fs.rmSync(cache, { recursive: true, force: true });
      this.log.info(`Layer ${layerName}: installed ${requirements}`);
    }
  }

  // pip's own timestamp .pyc: the bytecode plugin adds checked-hash ones to the zip instead.
  pycacheDirs(root) {
    const found = [];
    for (const entry of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
      if (entry.isDirectory() && entry.name === '__pycache__') found.push(path.join(entry.parentPath || entry.path, entry.name));
    }
    return found;
  }
}

module.exports = LayerRequirementsPlugin;
