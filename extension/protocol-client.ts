// protocol.ts's methods as vscode-languageclient types: a request's params and result, a
// notification's params, all derived from its Requests and Notifications maps.
import { NotificationType, RequestType } from "vscode-languageclient/node";
import type { Notifications, Requests } from "../profiler/protocol";

export const requestType = <M extends keyof Requests>(method: M): RequestType<Requests[M]["params"], Requests[M]["result"], void> =>
  new RequestType<Requests[M]["params"], Requests[M]["result"], void>(method);

export const notificationType = <M extends keyof Notifications>(method: M): NotificationType<Notifications[M]> =>
  new NotificationType<Notifications[M]>(method);
