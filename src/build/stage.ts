/**
 * Runs the instructions of one stage on its state (after FROM), one at a time, in order: variables
 * substituted where Docker substitutes them (ADD, COPY, ENV, EXPOSE, LABEL, STOPSIGNAL, USER,
 * VOLUME, WORKDIR and flag values; never CMD, ENTRYPOINT, HEALTHCHECK, SHELL), config edits
 * (config.ts), layers (copy-step.ts), and a history entry per instruction. RUN, and anything else
 * needing a container, stops the build with the file, line and instruction and what to do instead.
 */
import { ConfigEditError, addOnBuild, addVolumes, exposePorts, setCmd, setEntrypoint, setEnv, setHealthcheck, setLabels, setShell, workdir } from './config.js';
import { copyStep } from './copy-step.js';
import type { Instruction } from './dockerfile.js';
import type { BuildEnv } from './env.js';
import { BuildError } from './errors.js';
import { isoTime } from './image.js';
import { SubstitutionError, expandWord, expandWords } from './shell-words.js';
import { addKnownDir, variables, type StageImage } from './state.js';

/** The ARG values a stage may take: `--build-arg`s and the globals (values after the file's defaults). */
export interface StageArgs {
  /** `--build-arg` values by name */
  buildArgs: ReadonlyMap<string, string>;
  /** global ARGs (before the first FROM) and the automatic platform ARGs, for `ARG NAME` without a default */
  globals: ReadonlyMap<string, string>;
  /** names of build args some ARG declared (to warn about the others) */
  consumed: Set<string>;
}

/** Runs `instructions` on `state`. @throws BuildError naming the instruction */
export async function runInstructions(env: BuildEnv, state: StageImage, instructions: readonly Instruction[], args: StageArgs, escape: string): Promise<void> {
  const scope = new Map<string, string>();
  for (const ins of instructions) {
    env.signal?.throwIfAborted();
    try {
      await dispatch(env, state, ins, scope, args, escape);
    } catch (err) {
      if (err instanceof BuildError) throw err;
      if (err instanceof SubstitutionError || err instanceof ConfigEditError) throw new BuildError(err.message, { at: ins.at, cause: err });
      throw err;
    }
  }
}

/** Declares ARGs into `scope` (build args win over defaults; `ARG X` takes the global X). */
export function declareArgs(ins: Instruction, scope: Map<string, string>, args: StageArgs, vars: ReadonlyMap<string, string>, escape: string): void {
  for (const p of ins.properties ?? []) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.name)) throw new BuildError(`invalid ARG name "${p.name}"`, { at: ins.at, hint: 'a name holds letters, digits and _, and does not start with a digit' });
    args.consumed.add(p.name);
    const given = args.buildArgs.get(p.name);
    const value = given ?? (p.raw !== null ? expandWord(p.raw, vars, escape) : args.globals.get(p.name));
    if (value === undefined) scope.delete(p.name);
    else scope.set(p.name, value);
  }
}

async function dispatch(env: BuildEnv, state: StageImage, ins: Instruction, scope: Map<string, string>, args: StageArgs, escape: string): Promise<void> {
  const c = state.config.config;
  const vars = variables(scope, c);
  const word = (text: string) => expandWord(text, vars, escape);
  const history = (createdBy: string) => state.config.history.push({ created: isoTime(env.epoch), created_by: createdBy, comment: 'wharf build', empty_layer: true });
  const text = `${ins.keyword} ${ins.args}`;
  const pairs = () => (ins.properties ?? []).map((p) => [word(p.name), p.raw === null ? '' : word(p.raw)] as [string, string]);
  switch (ins.keyword) {
    case 'ARG':
      declareArgs(ins, scope, args, vars, escape);
      return;
    case 'ENV': {
      const set = pairs();
      if (set.length === 0) throw new BuildError('ENV needs KEY=value', { at: ins.at });
      setEnv(c, set);
      return void history(`ENV ${set.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    case 'LABEL':
      setLabels(c, pairs());
      return void history(text);
    case 'WORKDIR':
      c.WorkingDir = workdir(c.WorkingDir, word(ins.args));
      addKnownDir(state, c.WorkingDir);
      return void history(`WORKDIR ${c.WorkingDir}`);
    case 'USER': {
      const user = word(ins.args);
      if (user === '') throw new BuildError('USER needs a user', { at: ins.at, hint: 'write USER name[:group] or USER uid[:gid]' });
      c.User = user;
      return void history(`USER ${user}`);
    }
    case 'EXPOSE':
      exposePorts(c, expandWords(ins.args, vars, escape));
      return void history(text);
    case 'VOLUME':
      addVolumes(c, ins.json ? ins.json.map(word) : expandWords(ins.args, vars, escape));
      return void history(text);
    case 'STOPSIGNAL':
      c.StopSignal = word(ins.args);
      return void history(text);
    case 'CMD':
      setCmd(c, ins.json, ins.args);
      state.cmdSet = true;
      return void history(`CMD ${JSON.stringify(c.Cmd)}`);
    case 'ENTRYPOINT':
      setEntrypoint(c, ins.json, ins.args, state.cmdSet);
      return void history(`ENTRYPOINT ${JSON.stringify(c.Entrypoint)}`);
    case 'SHELL':
      setShell(c, ins.json);
      return void history(text);
    case 'HEALTHCHECK':
      setHealthcheck(c, ins.flags, ins.args);
      return void history(text);
    case 'ONBUILD':
      addOnBuild(c, ins.args);
      return void history(text);
    case 'MAINTAINER':
      state.config.author = ins.args;
      return void history(text);
    case 'COPY':
    case 'ADD':
      return copyStep(env, state, ins, vars, escape);
    case 'RUN':
      throw new BuildError('wharf build runs no commands (it has no container runtime)', {
        at: ins.at,
        hint: 'move this step into the base image (build that with docker build), or build this Dockerfile with docker build',
      });
    default:
      throw new BuildError(`${ins.keyword} is not supported by wharf build`, { at: ins.at, hint: 'build this Dockerfile with docker build' });
  }
}
