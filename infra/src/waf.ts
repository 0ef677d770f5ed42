import { type aws_elasticloadbalancingv2 as elbv2, aws_wafv2 as wafv2 } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/**
 * A WAF web ACL on the API's load balancer with one rate-based rule: a client address over `requestsPer5Minutes`
 * is blocked (403 from the load balancer) until its rate falls. The API's own limiter (RATE_LIMIT_PER_MINUTE) is
 * per key and per API task; this stops a per-address flood before it reaches any task.
 */
export class ApiRateFirewall extends Construct {
  readonly webAcl: wafv2.CfnWebACL;

  constructor(
    scope: Construct,
    id: string,
    props: { loadBalancer: elbv2.IApplicationLoadBalancer; requestsPer5Minutes: number },
  ) {
    super(scope, id);
    const visibility = (metricName: string) => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      sampledRequestsEnabled: true,
    });
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('photoenhance-api'),
      rules: [
        {
          name: 'per-address-rate',
          priority: 0,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: props.requestsPer5Minutes, aggregateKeyType: 'IP' } },
          visibilityConfig: visibility('photoenhance-api-per-address-rate'),
        },
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.loadBalancer.loadBalancerArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
