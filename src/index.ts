// Worker entry: the hono front door and the member Durable Object class.
import { app } from "./gateway/app.ts";
export { Member } from "./member/member.ts";

export default app;
