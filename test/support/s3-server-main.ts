// The test S3 server as a process of its own, for a test host made of a network namespace:
// `node --import tsx test/support/s3-server-main.ts <address> <port> <bucket>`. Prints
// `s3 ready <endpoint>` once listening; stops on SIGTERM.
import { startTestS3 } from './s3-server.ts';

const [address = '127.0.0.1', port = '0', bucket = 'canarytrap-runs'] = process.argv.slice(2);
const s3 = await startTestS3(bucket, address, Number(port));
process.stdout.write(`s3 ready ${s3.endpoint}\n`);
process.once('SIGTERM', () => {
  void s3.close().then(() => process.exit(0));
});
