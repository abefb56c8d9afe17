/** Response bodies exactly as Prefect's OpenAPI document names them. Date-times are ISO strings with `Z`. */
export type DateTimeString = string;

export interface FlowResponse {
  id: string;
  created: DateTimeString | null;
  updated: DateTimeString | null;
  name: string;
  tags: string[];
  labels: Record<string, unknown> | null;
}
