import {
  Duration,
  RemovalPolicy,
  aws_s3 as s3,
  aws_secretsmanager as secretsmanager,
  aws_wafv2 as wafv2,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** The service's secrets, made by the stack in Secrets Manager and handed to the containers as secrets, never as plain environment. */
export interface ServiceSecrets {
  /** API_KEYS: one generated key to start with; edit the secret's value (comma-separated) to add clients. */
  apiKeys: secretsmanager.Secret;
  /** ADMIN_API_KEY: operator routes (GET /api/v1/workers). */
  adminKey: secretsmanager.Secret;
  /** WORKER_REGISTRATION_SECRET: shared by the API and the workers. */
  registration: secretsmanager.Secret;
  /** CALLBACK_SECRET: signs webhooks (the worker image, NODE_ENV=production, refuses to start without one). */
  callback: secretsmanager.Secret;
}

function generated(scope: Construct, id: string, description: string): secretsmanager.Secret {
  return new secretsmanager.Secret(scope, id, {
    description,
    // Letters and digits only: API_KEYS is a comma-separated list, and every consumer wants ≥ 16 characters.
    generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
  });
}

export function createServiceSecrets(scope: Construct): ServiceSecrets {
  return {
    apiKeys: generated(scope, 'ApiKeys', 'PhotoEnhance API_KEYS (comma-separated client keys)'),
    adminKey: generated(scope, 'AdminApiKey', 'PhotoEnhance ADMIN_API_KEY'),
    registration: generated(scope, 'WorkerRegistrationSecret', 'PhotoEnhance WORKER_REGISTRATION_SECRET'),
    callback: generated(scope, 'CallbackSecret', 'PhotoEnhance CALLBACK_SECRET (webhook signatures)'),
  };
}

/** Server access logs of the job bucket: who read or wrote which photo, kept 90 days, private like the bucket. */
export function createAccessLogBucket(scope: Construct): s3.Bucket {
  return new s3.Bucket(scope, 'AccessLogs', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    enforceSSL: true,
    lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(90) }],
    removalPolicy: RemovalPolicy.RETAIN,
  });
}

/**
 * A WAF web ACL on the load balancer with one rate-based rule: an IP over `requestsPer5Minutes` is blocked
 * until it slows down. The API's own per-key limits (RATE_LIMIT_PER_MINUTE) count per instance; this one
 * counts at the edge, for floods from one address whatever key they use.
 */
export function rateLimitLoadBalancer(
  scope: Construct,
  loadBalancerArn: string,
  requestsPer5Minutes: number,
): wafv2.CfnWebACL {
  const acl = new wafv2.CfnWebACL(scope, 'WebAcl', {
    scope: 'REGIONAL',
    defaultAction: { allow: {} },
    visibilityConfig: {
      cloudWatchMetricsEnabled: true,
      metricName: 'PhotoEnhanceWebAcl',
      sampledRequestsEnabled: true,
    },
    rules: [
      {
        name: 'PerIpRateLimit',
        priority: 0,
        action: { block: {} },
        statement: { rateBasedStatement: { limit: requestsPer5Minutes, aggregateKeyType: 'IP' } },
        visibilityConfig: {
          cloudWatchMetricsEnabled: true,
          metricName: 'PerIpRateLimit',
          sampledRequestsEnabled: true,
        },
      },
    ],
  });
  new wafv2.CfnWebACLAssociation(scope, 'WebAclAssociation', { resourceArn: loadBalancerArn, webAclArn: acl.attrArn });
  return acl;
}
