// The routes and menu entries of the Access and Operations screens, kept apart from the shell so main.js
// only splices them in. A route carries names and paths, never a value or a token.
import { accessView, operationsView } from "./views/overview.js";
import { policyEdit, policyList, policyShow } from "./views/policies.js";
import { authList, authTune } from "./views/auth.js";
import { engineEnable, engineTune } from "./views/engines.js";
import { identityEdit, identityList, identityShow } from "./views/identity.js";
import { approleEdit, approleList } from "./views/approle.js";
import { userpassEdit, userpassList } from "./views/userpass.js";
import { tokenView } from "./views/token.js";
import { leasesView } from "./views/leases.js";
import { auditView } from "./views/audit.js";
import { statusView } from "./views/status.js";
import { metricsView } from "./views/metrics.js";
import { dockerSecretsView } from "./views/dockersecrets.js";

const name = "([^/?]+)";
const r = (pattern) => new RegExp(`^${pattern}$`);

export const ADMIN_ROUTES = [
  [r("/access"), () => accessView()],
  [r("/policies"), () => policyList()],
  [r("/policies/create"), () => policyEdit("")],
  [r(`/policies/show/${name}`), (n) => policyShow(n)],
  [r(`/policies/edit/${name}`), (n) => policyEdit(n)],
  [r("/engines/enable"), () => engineEnable()],
  [r("/engines/tune/(.+)"), (path) => engineTune(path)],
  [r("/auth"), () => authList()],
  [r("/identity/(entity|group)"), (kind) => identityList(kind)],
  [r("/identity/(entity|group)/create"), (kind) => identityEdit(kind, "")],
  [r(`/identity/(entity|group)/show/${name}`), (kind, n) => identityShow(kind, n)],
  [r(`/identity/(entity|group)/edit/${name}`), (kind, n) => identityEdit(kind, n)],
  [r("/auth/tune/(.+)"), (path) => authTune(path)],
  [r(`/approle/${name}`), (m) => approleList(m)],
  [r(`/approle/${name}/create`), (m) => approleEdit(m, "")],
  [r(`/approle/${name}/edit/${name}`), (m, n) => approleEdit(m, n)],
  [r(`/userpass/${name}`), (m) => userpassList(m)],
  [r(`/userpass/${name}/create`), (m) => userpassEdit(m, "")],
  [r(`/userpass/${name}/edit/${name}`), (m, n) => userpassEdit(m, n)],
  [r("/operations"), () => operationsView()],
  [r("/token"), () => tokenView()],
  [r("/leases/(.*)"), (prefix) => leasesView(prefix)],
  [r("/audit"), () => auditView()],
  [r("/status"), () => statusView()],
  [r("/metrics"), () => metricsView()],
  [r("/docker-secrets"), () => dockerSecretsView()],
];

export const ADMIN_NAV = [["#/access", "Access"], ["#/operations", "Operations"]];
