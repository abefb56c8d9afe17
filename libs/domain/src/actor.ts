/**
 * Who created or changed a resource (Prefect's `CreatedBy` / `UpdatedBy`). Stored as JSON, so rows written by
 * older clients may lack keys.
 */
export interface Actor {
  id?: string | null;
  type?: string | null;
  display_value?: string | null;
}
