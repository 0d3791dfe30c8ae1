// Evaluates IAM simulations with @cloud-copilot/iam-simulate: a JSON array of
// {simulation, unsafe} on stdin, a JSON array of {result, denials, error} on stdout.
// `unsafe` keeps context keys the IAM reference does not list (an OIDC provider's sub/aud).
import { pathToFileURL } from 'node:url'

const library = await import(pathToFileURL(`${process.argv[2]}/dist/esm/index.js`).href)
const { runSimulation, runUnsafeSimulation, getDenialReasons } = library

let input = ''
for await (const chunk of process.stdin) input += chunk
const answers = []
for (const { simulation, unsafe } of JSON.parse(input)) {
  if (unsafe) {
    answers.push({ result: runUnsafeSimulation(simulation, {}), denials: [] })
    continue
  }
  const run = await runSimulation(simulation, {})
  if (run.resultType === 'single') {
    answers.push({ result: run.overallResult, denials: getDenialReasons(run.result.analysis) })
  } else if (run.resultType === 'error') {
    answers.push({ result: 'Error', error: run.errors.message })
  } else {
    answers.push({ result: run.overallResult, denials: [] })
  }
}
process.stdout.write(JSON.stringify(answers))
