// The app of smoke.mjs, in a module of its own so that `hio-ts replay --app app.mjs` loads it.
import { http } from "hio-ts";

export default async (request, env) => {
  const url = new URL(request.url);
  if (url.pathname === "/teapot") throw new http.HTTPError({ status: 418 });
  return new Response(`hello ${url.pathname} from ${env.serverName}`, { headers: { "content-type": "text/plain" } });
};
