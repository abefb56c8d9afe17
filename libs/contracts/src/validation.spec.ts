import 'reflect-metadata';
import { IsDefined, IsString } from 'class-validator';
import fc from 'fast-check';
import { validateModel } from './body-validation';
import { ConcurrencyOptionsDto } from './dto/deployment.dto';
import { FlowFilterId, FlowRunFilterStateType, FlowFilterRequestDto } from './dto/filters.dto';
import { FlowCreateDto } from './dto/flow.dto';
import { FlowRunCreateDto } from './dto/flow-run.dto';
import { StateCreateDto } from './dto/state.dto';
import { IsNestedModel } from './dto/validators';
import { WorkQueueCreateDto } from './dto/work-queue.dto';
import { PydanticErrorDetail } from './validation';

class InnerDto {
  @IsDefined() @IsString() name!: string;
}

class OuterDto {
  @IsDefined() @IsNestedModel(() => InnerDto) inner!: InnerDto;
}

function errorsOf(model: new () => object, body: unknown): PydanticErrorDetail[] {
  const result = validateModel(model, body);
  if (result.ok) throw new Error(`expected ${JSON.stringify(body)} to be refused`);
  return result.errors;
}

const FLOW_ID = '7f1c3c5e-8d7e-4a8e-9b0c-2f4d6a1b3c5d';

describe('toPydanticErrors', () => {
  describe('a nested model given something else', () => {
    it.each([
      ['a list', [{ name: 'a' }, {}]],
      ['a string', 'inner'],
      ['a number', 3],
    ])('reports %s once, as model_type naming the model', (_case, inner) => {
      expect(errorsOf(OuterDto, { inner })).toEqual([
        {
          type: 'model_type',
          loc: ['body', 'inner'],
          msg: 'Input should be a valid dictionary or instance of Inner',
          input: inner,
          ctx: { class_name: 'Inner' },
        },
      ]);
    });

    it('reports null for a model that may only be left out the same way', () => {
      expect(errorsOf(StateCreateDto, { type: 'PENDING', state_details: null })).toEqual([
        {
          type: 'model_type',
          loc: ['body', 'state_details'],
          msg: 'Input should be a valid dictionary or instance of StateDetails',
          input: null,
          ctx: { class_name: 'StateDetails' },
        },
      ]);
    });

    it("names Prefect's model, without our Dto suffix", () => {
      expect(errorsOf(WorkQueueCreateDto, { name: 'q', filter: [] })).toEqual([
        expect.objectContaining({
          type: 'model_type',
          loc: ['body', 'filter'],
          msg: 'Input should be a valid dictionary or instance of QueueFilter',
        }),
      ]);
    });

    it('still reports what is wrong inside a nested object', () => {
      expect(errorsOf(OuterDto, { inner: { name: 1 } })).toEqual([
        { type: 'string_type', loc: ['body', 'inner', 'name'], msg: 'Input should be a valid string', input: 1 },
      ]);
    });
  });

  describe('bounds', () => {
    it('states an inclusive lower bound (ge)', () => {
      expect(errorsOf(FlowFilterRequestDto, { offset: -1 })).toEqual([
        {
          type: 'greater_than_equal',
          loc: ['body', 'offset'],
          msg: 'Input should be greater than or equal to 0',
          input: -1,
          ctx: { ge: 0 },
        },
      ]);
      expect(errorsOf(ConcurrencyOptionsDto, { collision_strategy: 'ENQUEUE', grace_period_seconds: 59 })).toEqual([
        expect.objectContaining({
          type: 'greater_than_equal',
          msg: 'Input should be greater than or equal to 60',
          ctx: { ge: 60 },
        }),
      ]);
    });

    it('states an inclusive upper bound (le)', () => {
      expect(errorsOf(ConcurrencyOptionsDto, { collision_strategy: 'ENQUEUE', grace_period_seconds: 86401 })).toEqual([
        {
          type: 'less_than_equal',
          loc: ['body', 'grace_period_seconds'],
          msg: 'Input should be less than or equal to 86400',
          input: 86401,
          ctx: { le: 86400 },
        },
      ]);
    });

    it("reports Prefect's PositiveInteger (gt=0, e.g. a queue priority) as greater_than", () => {
      expect(errorsOf(WorkQueueCreateDto, { name: 'q', priority: 0 })).toEqual([
        {
          type: 'greater_than',
          loc: ['body', 'priority'],
          msg: 'Input should be greater than 0',
          input: 0,
          ctx: { gt: 0 },
        },
      ]);
      expect(validateModel(WorkQueueCreateDto, { name: 'q', priority: 1 }).ok).toBe(true);
    });

    it("reports Prefect's NonNegativeInteger (ge=0, e.g. a concurrency limit) as greater_than_equal", () => {
      expect(errorsOf(WorkQueueCreateDto, { name: 'q', concurrency_limit: -1 })).toEqual([
        expect.objectContaining({ type: 'greater_than_equal', loc: ['body', 'concurrency_limit'], ctx: { ge: 0 } }),
      ]);
    });
  });

  describe('lists checked item by item', () => {
    it('reports each bad item at its index, with the item as input', () => {
      fc.assert(
        fc.property(fc.array(fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null))), (tags) => {
          const bad = tags.flatMap((tag, index) => (typeof tag === 'string' ? [] : [index]));
          const result = validateModel(FlowCreateDto, { name: 'flow', tags });
          if (bad.length === 0) {
            expect(result.ok).toBe(true);
            return;
          }
          expect(result).toEqual({
            ok: false,
            errors: bad.map((index) => ({
              type: 'string_type',
              loc: ['body', 'tags', index],
              msg: 'Input should be a valid string',
              input: tags[index],
            })),
          });
        }),
      );
    });

    it('does so for UUIDs and enums too', () => {
      expect(errorsOf(FlowFilterId, { any_: [FLOW_ID, 'nope'] })).toEqual([
        {
          type: 'uuid_parsing',
          loc: ['body', 'any_', 1],
          msg: 'Input should be a valid UUID, invalid character: found `n` at 0',
          input: 'nope',
          ctx: { error: 'invalid character: found `n` at 0' },
        },
      ]);
      expect(errorsOf(FlowRunFilterStateType, { any_: ['DONE', 'RUNNING', 'LATE'] })).toEqual(
        [
          [0, 'DONE'],
          [2, 'LATE'],
        ].map(([index, input]) =>
          expect.objectContaining({
            type: 'enum',
            loc: ['body', 'any_', index],
            input,
            msg: expect.stringMatching(/^Input should be 'SCHEDULED', /),
          }),
        ),
      );
    });
  });

  describe('a list that is not a list', () => {
    it.each([
      ['a string for a UUID list', FlowFilterId, { any_: 'abc' }, ['body', 'any_'], 'abc'],
      ['a number for a string list', FlowCreateDto, { name: 'f', tags: 7 }, ['body', 'tags'], 7],
      [
        'null for a list that may only be left out',
        FlowRunCreateDto,
        { flow_id: FLOW_ID, tags: null },
        ['body', 'tags'],
        null,
      ],
      ['a string for a state type list', FlowRunFilterStateType, { any_: 'DONE' }, ['body', 'any_'], 'DONE'],
    ])('reports %s only as list_type', (_case, model, body, loc, input) => {
      expect(errorsOf(model, body)).toEqual([{ type: 'list_type', loc, msg: 'Input should be a valid list', input }]);
    });
  });
});
