export { freePort, waitFor } from "../../tools/lib/net";
