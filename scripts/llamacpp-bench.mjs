// Times llama.cpp on one GGUF file the way `redhare bench` and llama-bench time themselves: pp = one P-token batch
// from an empty context, tg = N decode steps (logits and a greedy pick every step) from an empty context, each
// repeated R times after one warm-up, median reported. llama.cpp comes from node-llama-cpp's prebuilt CPU backend
// (it picks the build for this CPU at run time); scripts/compare-llamacpp.sh installs it and calls this. D > 0: each
// decode round first reads a D-token context, untimed, as `redhare bench --depth D` and llama-bench's -d; FA=1 turns
// on llama.cpp's flash attention (off by default, as llama-bench's -fa).
//   node llamacpp-bench.mjs MODEL.gguf THREADS [P] [N] [R] [D] [FA]   -> one JSON line
import {getLlama} from "node-llama-cpp";

const [modelPath, threadsArg, pArg, nArg, rArg, dArg, faArg] = process.argv.slice(2);
const threads = +threadsArg, P = +(pArg ?? 512), N = +(nArg ?? 128), R = +(rArg ?? 3), D = +(dArg ?? 0);
const flashAttention = faArg === "1";
const llama = await getLlama({gpu: false, build: "never", logLevel: "warn"});
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
const ctx = await model.createContext({contextSize: Math.max(P, D + N) + 64, batchSize: Math.max(P, D > 0 ? 512 : 1), threads,
  sequences: 1, flashAttention});
const seq = ctx.getSequence();
let state = 1;
const token = () => (state = (state * 1103515245 + 12345) % 2147483648) % 30000 + 100; // ids every vocabulary has
const median = a => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const seconds = t0 => Number(process.hrtime.bigint() - t0) / 1e9;
const pp = [], tg = [];
for (let r = 0; r <= R; r++) { // round 0 warms up
  if (P > 0) {
    await seq.clearHistory();
    const prompt = Array.from({length: P}, token);
    const t0 = process.hrtime.bigint();
    await seq.evaluateWithoutGeneratingNewTokens(prompt);
    if (r > 0) pp.push(P / seconds(t0));
  }
  if (N > 0) {
    await seq.clearHistory();
    if (D > 0) await seq.evaluateWithoutGeneratingNewTokens(Array.from({length: D}, token));
    let n = 0;
    const t0 = process.hrtime.bigint();
    for await (const t of seq.evaluate([token()], {temperature: 0})) {
      if (++n >= N) break;
    }
    if (r > 0) tg.push(n / seconds(t0));
  }
}
console.log(JSON.stringify({model: modelPath, threads, pp_tokens: P, tg_tokens: N, depth: D, flash_attention: flashAttention,
  pp_tokens_per_second: P ? median(pp) : null, tg_tokens_per_second: N ? median(tg) : null, pp_all: pp, tg_all: tg}));
await ctx.dispose();
await model.dispose();
