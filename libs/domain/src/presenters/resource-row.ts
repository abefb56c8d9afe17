/** The id/created/updated trio every stored Prefect object carries, as presenters read it. */
export interface ResourceRow {
  id: string;
  created: Date;
  updated: Date;
}
