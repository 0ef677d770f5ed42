import { SQSClient } from '@aws-sdk/client-sqs';
import { type AwsClientOptions, awsClientConfig } from '../aws/client-options.ts';

export type SqsClientOptions = AwsClientOptions;

export function createSqsClient(options: SqsClientOptions): SQSClient {
  return new SQSClient(awsClientConfig(options));
}
