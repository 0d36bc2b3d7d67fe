// The types the generated Grafana files are checked against (snapshots/grafana.rs).
//
// Dashboards: Grafana's own published types (`@grafana/schema`), with the loose parts
// narrowed to what sparkc writes — a time series panel's field config (`GraphFieldConfig`)
// and options, Prometheus queries — so that an unknown key anywhere is an error. JSON
// carries enum values as their strings; `Json<T>` turns each string enum into the union of
// its values.
//
// Provisioning: Grafana publishes no types for its provisioning files, and ignores keys it
// does not know. These are written from its documentation ("Provision Grafana": data
// sources, dashboards), stricter than Grafana: every key listed, none other allowed, the
// `jsonData` of the two data source types sparkc writes spelled out.

import type {
  Dashboard,
  DataQuery,
  FieldConfig,
  FieldConfigSource,
  GraphFieldConfig,
  OptionsWithLegend,
  OptionsWithTooltip,
  Panel,
} from "@grafana/schema";

type Json<T> = T extends string
  ? `${T}`
  : T extends (infer U)[]
    ? Json<U>[]
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;

interface PrometheusQuery extends DataQuery {
  expr: string;
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
}

type TimeSeriesPanel = Omit<Panel, "targets" | "options" | "fieldConfig" | "type"> & {
  type: "timeseries";
  options: OptionsWithLegend & OptionsWithTooltip;
  fieldConfig: {
    defaults: Omit<FieldConfig, "custom"> & { custom: GraphFieldConfig };
    overrides: FieldConfigSource["overrides"];
  };
  targets: PrometheusQuery[];
};

export type CheckedDashboard = Json<
  Omit<Dashboard, "panels" | "uid" | "title"> & {
    uid: string;
    title: string;
    panels: TimeSeriesPanel[];
  }
>;

interface DatasourceBase {
  name: string;
  uid?: string;
  orgId?: number;
  access?: "proxy" | "direct";
  url?: string;
  user?: string;
  database?: string;
  basicAuth?: boolean;
  basicAuthUser?: string;
  withCredentials?: boolean;
  isDefault?: boolean;
  version?: number;
  editable?: boolean;
  secureJsonData?: { [key: string]: string };
}

interface PrometheusDatasource extends DatasourceBase {
  type: "prometheus";
  jsonData?: {
    httpMethod?: "GET" | "POST";
    timeInterval?: string;
    queryTimeout?: string;
    manageAlerts?: boolean;
    alertmanagerUid?: string;
  };
}

interface AlertmanagerDatasource extends DatasourceBase {
  type: "alertmanager";
  jsonData?: {
    implementation?: "prometheus" | "mimir" | "cortex";
    handleGrafanaManagedAlerts?: boolean;
  };
}

export interface DatasourcesFile {
  apiVersion: 1;
  datasources?: (PrometheusDatasource | AlertmanagerDatasource)[];
  deleteDatasources?: { name: string; orgId?: number }[];
  prune?: boolean;
}

export interface DashboardsFile {
  apiVersion: 1;
  providers: {
    name: string;
    orgId?: number;
    folder?: string;
    folderUid?: string;
    type: "file";
    disableDeletion?: boolean;
    updateIntervalSeconds?: number;
    allowUiUpdates?: boolean;
    options: { path: string; foldersFromFilesStructure?: boolean };
  }[];
}
