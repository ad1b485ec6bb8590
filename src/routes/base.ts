/** `GET /v2/` (Distribution Spec v1.1 end-1): the API version check. */
import { sendJson, type Handler } from './context.js';

/** Answers 200 with an empty JSON object; `Docker-Distribution-API-Version` is set for every request by the app. */
export const getBase: Handler<{ area: 'base' }> = (_req, res) => {
  sendJson(res, 200, {});
};
