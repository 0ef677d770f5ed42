/**
 * `node bench/watch/read-cost.ts` (S3_ENDPOINT etc. from scripts/real-servers' env.sh, or the embedded store's
 * variables): the CPU one process spends per read of a task record, broken down — the repository's
 * `readState` (what the watch hub calls), a bare `client.send(GetObjectCommand)`, a presign alone, a presigned
 * URL replayed through the client's request handler, and the zod parse. CPU is `process.cpuUsage()` over READS
 * sequential reads (a V8 profile counts wall time: a loopback write that wakes the server looks like CPU there).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { newId, TaskRecordSchema } from '@photoenhance/contracts';
import {
  CommonEnvSchema,
  connectBackend,
  createS3Client,
  createTaskRepository,
  credentialsFromConfig,
  keys,
  loadConfig,
} from '@photoenhance/core';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import { runningTaskRecord } from './running-record.ts';

const READS = Number(process.env.READS ?? 1500);
const config = loadConfig(CommonEnvSchema, process.env);
const store = await connectBackend(config);
const tasks = createTaskRepository(store.storage);
const client = createS3Client({
  endpoint: config.S3_ENDPOINT,
  region: config.S3_REGION,
  credentials: credentialsFromConfig(config),
});
const handler = client.config.requestHandler as unknown as {
  handle(request: HttpRequest): Promise<{ response: HttpResponse }>;
};

const taskId = newId();
const now = new Date().toISOString();
const record = await tasks.write(runningTaskRecord(taskId, 'read-cost', now, 3));

const json = JSON.stringify(record);
const getRecord = () => new GetObjectCommand({ Bucket: config.S3_BUCKET, Key: keys.taskRecord(taskId) });

async function replay(url: string): Promise<number> {
  const u = new URL(url);
  const { response } = await handler.handle({
    method: 'GET',
    protocol: u.protocol,
    hostname: u.hostname,
    ...(u.port ? { port: Number(u.port) } : {}),
    path: u.pathname,
    query: Object.fromEntries(u.searchParams),
    headers: { host: u.host },
  });
  let bytes = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) bytes += chunk.length;
  if (response.statusCode !== 200) throw new Error(`replayed GET: HTTP ${response.statusCode}`);
  return bytes;
}

async function measure(name: string, read: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 50; i++) await read(); // warm-up: JIT, sockets
  const before = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < READS; i++) await read();
  const cpu = process.cpuUsage(before);
  const wall = performance.now() - start;
  const ms = (us: number) => (us / READS / 1000).toFixed(3);
  console.log(
    `| ${name} | ${ms(cpu.user + cpu.system)} | ${ms(cpu.user)} / ${ms(cpu.system)} | ${(wall / READS).toFixed(3)} |`,
  );
}

console.log(
  `# read cost — ${READS} sequential reads of a ${json.length}-byte task record, ${new Date().toISOString()}`,
);
console.log('| read | CPU ms | user / system ms | wall ms |');
console.log('|---|---|---|---|');
await measure('JSON.parse + TaskRecordSchema.parse', async () => TaskRecordSchema.parse(JSON.parse(json)));
await measure('tasks.readState (the watch hub’s read)', () => tasks.readState(taskId));
await measure('client.send(GetObjectCommand) + body', async () => {
  const out = await client.send(getRecord());
  await out.Body?.transformToByteArray();
});
await measure('getSignedUrl alone', () => getSignedUrl(client, getRecord(), { expiresIn: 300 }));
const url = await getSignedUrl(client, getRecord(), { expiresIn: 300 });
await measure('presigned URL replayed via the request handler', () => replay(url));
store.close();
client.destroy();
