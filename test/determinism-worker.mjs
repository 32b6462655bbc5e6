// Runs the determinism scenario in a worker thread (built packages) and posts the result.
import { parentPort, workerData } from 'node:worker_threads';
import { runScenario } from './determinism-scenario.mjs';

parentPort.postMessage(await runScenario(workerData));
