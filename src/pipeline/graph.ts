/**
 * Structural checks of a pipeline before anything is bundled: unique ids, known dependencies, valid template
 * references (a step may only read steps it depends on, `item`/`index` only inside forEach steps), input fields
 * the templates read, and no cycles. Returns each step's full dependency list (explicit + referenced).
 */
import { TemplateError } from '../workflows/errors.js';
import { collectReferences, parseCondition, renderTemplate, type Reference } from '../workflows/template.js';
import { PipelineError } from './errors.js';
import type { PipelineDefinition } from './schema.js';

export function checkGraph(file: string, definition: PipelineDefinition, input: unknown): Map<string, string[]> {
  const ids = new Map<string, number>();
  definition.steps.forEach((step, i) => {
    const previous = ids.get(step.id);
    if (previous !== undefined) throw new PipelineError(file, `steps[${i}].id`, `duplicate step id "${step.id}" (also steps[${previous}])`);
    ids.set(step.id, i);
  });

  const deps = new Map<string, string[]>();
  definition.steps.forEach((step, i) => {
    const where = `steps[${i}] (${step.id})`;
    const all = new Set<string>();
    (step.dependsOn ?? []).forEach((dep, j) => {
      if (!ids.has(dep)) throw new PipelineError(file, `${where}.dependsOn[${j}]`, `unknown step "${dep}"; steps are: ${[...ids.keys()].join(', ')}`);
      all.add(dep);
    });
    const check = (template: unknown, field: string, allowItem: boolean) => {
      for (const ref of references(file, `${where}.${field}`, template)) {
        if (ref.kind === 'step') {
          if (!ids.has(ref.step)) throw new PipelineError(file, `${where}.${field}`, `refers to unknown step "${ref.step}"; steps are: ${[...ids.keys()].join(', ')}`);
          all.add(ref.step);
        }
        if ((ref.kind === 'item' || ref.kind === 'index') && !allowItem) {
          throw new PipelineError(file, `${where}.${field}`, `"${ref.kind}" is only available in the input of a step with forEach`);
        }
        if (ref.kind === 'input') checkInputPath(file, `${where}.${field}`, input, ref.path);
      }
    };
    check(step.input, 'input', step.forEach !== undefined);
    if (step.code !== undefined) check(step.code, 'code', step.forEach !== undefined);
    if (step.llm !== undefined) {
      const { schema: _schema, ...templates } = step.llm;
      for (const [key, value] of Object.entries(templates)) check(value, `llm.${key}`, false);
    }
    if (step.approval !== undefined) check(step.approval.prompt, 'approval.prompt', false);
    if (step.when !== undefined) {
      const { ref } = parseCondition(step.when);
      if (ref.kind === 'item' || ref.kind === 'index') throw new PipelineError(file, `${where}.when`, `"${ref.kind}" is only available in the input of a step with forEach; a condition decides for the whole step`);
      check(step.when.replace(/\{\{\s*not\s+/, '{{ '), 'when', false);
    }
    if (step.forEach !== undefined) {
      check(step.forEach, 'forEach', false);
      checkForEachInput(file, `${where}.forEach`, step.forEach, input);
    }
    if (all.has(step.id)) throw new PipelineError(file, where, `step "${step.id}" depends on itself`);
    deps.set(step.id, [...all]);
  });

  if (definition.output !== undefined) {
    for (const ref of references(file, 'output', definition.output)) {
      if (ref.kind === 'step' && !ids.has(ref.step)) throw new PipelineError(file, 'output', `refers to unknown step "${ref.step}"`);
      if (ref.kind === 'item' || ref.kind === 'index') throw new PipelineError(file, 'output', `"${ref.kind}" is only available in the input of a step with forEach`);
    }
  }
  findCycle(file, definition, deps);
  return deps;
}

function references(file: string, field: string, template: unknown): Reference[] {
  try {
    return collectReferences(template);
  } catch (error) {
    if (error instanceof TemplateError) throw new PipelineError(file, field, error.message);
    throw error;
  }
}

/** A template reading input.a.b needs an input with those fields: catch a wrong --input before starting. */
function checkInputPath(file: string, field: string, input: unknown, pathParts: string[]): void {
  let current = input;
  const walked: string[] = ['input'];
  for (const key of pathParts) {
    if (current === null || typeof current !== 'object' || !(key in current)) {
      throw new PipelineError(file, field, `refers to ${[...walked, key].join('.')}, but the pipeline input has no field "${key}" at ${walked.join('.')} (input: ${preview(input)})`);
    }
    current = (current as Record<string, unknown>)[key];
    walked.push(key);
  }
}

/** A fan-out over the pipeline input ("{{ input.items }}") is checked now: the input is known before the run. */
function checkForEachInput(file: string, field: string, forEach: unknown, input: unknown): void {
  if (typeof forEach !== 'string') return;
  const [ref] = collectReferences(forEach);
  if (ref?.kind !== 'input') return;
  const value = renderTemplate(forEach, { input, outputs: {} });
  if (!Array.isArray(value)) {
    throw new PipelineError(file, field, `${forEach.trim()} is ${value === null ? 'null' : `a ${typeof value}`} (${preview(value)}); expected an array to fan out over`);
  }
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function findCycle(file: string, definition: PipelineDefinition, deps: Map<string, string[]>): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(id)), id];
      const index = definition.steps.findIndex((s) => s.id === id);
      throw new PipelineError(file, `steps[${index}] (${id}).dependsOn`, `dependency cycle: ${cycle.join(' -> ')}`);
    }
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) visit(dep);
    stack.pop();
    state.set(id, 'done');
  };
  for (const step of definition.steps) visit(step.id);
}
