// A distributed work queue: producers enqueue jobs (keys in create-revision order), consumers take each job
// exactly once; a consumer on an empty queue blocks on a watch until work arrives.
// Run after `npm run build` against `npm start`:  node examples/queue.mjs [127.0.0.1:2379]
import { Client, PriorityQueue, Queue } from "etcd-ts/client";

const client = await Client.connect({ endpoints: [process.argv[2] ?? "127.0.0.1:2379"] });
try {
  const jobs = new Queue(client, "example/jobs");

  // A consumer waiting on the empty queue…
  const first = jobs.dequeue();
  // …is woken by the producer's first job.
  for (const job of ["resize-1", "resize-2", "resize-3"]) await jobs.enqueue(job);
  console.log("blocked consumer got:", await first);
  console.log("then:", await jobs.dequeue(), await jobs.dequeue());

  // Priority queue: lower numbers first, FIFO within a priority.
  const urgent = new PriorityQueue(client, "example/pjobs");
  await urgent.enqueue("backup", 10);
  await urgent.enqueue("page-oncall", 0);
  await urgent.enqueue("cleanup", 10);
  const order = [];
  for (let i = 0; i < 3; i++) order.push(await urgent.dequeue());
  console.log("priority order:", order.join(", "));
  console.log("queue done");
} finally {
  await client.close();
}
