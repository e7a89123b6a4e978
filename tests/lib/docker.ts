// Real Docker for the image tests and benchmark, one import for the parts in docker/: the client
// (run.ts), the engine (engine.ts), stand-in base images (bases.ts), package mirrors (mirrors.ts),
// builds (build.ts), the project's images (project.ts), containers (containers.ts) and what an
// image records (inspect.ts).
export { ensureBaseImages, NODE_BASE, PYTHON_BASE } from './docker/bases.ts';
export { buildImage, type BuildOptions, copyContext, pruneSupersededBuilds } from './docker/build.ts';
export { type Container, containerLogs, execIn, HARDENED, removeContainers, runContainer, tempFile, waitHealthy } from './docker/containers.ts';
export { ensureEngine } from './docker/engine.ts';
export { history, inspectImage, ownLayerBytes, recordedIn } from './docker/inspect.ts';
export { npmRegistry, pipSettings, servePipIndex, type PipIndex } from './docker/mirrors.ts';
export { BACKEND_DIR, BACKEND_DOCKERFILE, FRONTEND_DIR, FRONTEND_DOCKERFILE, type ImageBuilder, MCP_DIR, MCP_DOCKERFILE, prepareImageBuilds, repoRoot } from './docker/project.ts';
export { DOCKER, docker, run, type RunResult } from './docker/run.ts';
