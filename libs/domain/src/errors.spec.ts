import { badRequest, DomainError, integrityConflict } from './errors';

describe('domain errors', () => {
  it('badRequest carries its own code and the message', () => {
    const error = badRequest('no');
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'bad_request', message: 'no' });
  });

  it("integrityConflict is a conflict with Prefect's IntegrityError text", () => {
    expect(integrityConflict()).toMatchObject({
      code: 'conflict',
      message: 'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.',
    });
  });
});
