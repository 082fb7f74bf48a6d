// Preloaded (node --import) into every server bench/http.ts starts: the bench holds the server's
// stdin open, so when it ends (the bench is gone, even killed outright) the server exits too.
// Reading an idle pipe costs nothing while the bench runs.
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
