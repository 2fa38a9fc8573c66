/**
 * Kubernetes ServiceAccount tokens checked with the TokenReview API: the API server says whether
 * the token is valid (signature, expiry, bound object still existing, audience) and whose it is,
 * `system:serviceaccount:<namespace>:<name>`.
 */
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError, errorMessage } from '../lib/errors.ts';

export type TokenReviewResult =
  | { readonly authenticated: true; readonly namespace: string; readonly serviceAccount: string }
  | { readonly authenticated: false; readonly reason: string };

export interface TokenReviewer {
  review(token: string): Promise<TokenReviewResult>;
}

const saUser = /^system:serviceaccount:([^:]+):([^:]+)$/;

export function kubeTokenReviewer(kc: KubeConfig, audiences: readonly string[]): TokenReviewer {
  const api = kc.makeApiClient(AuthenticationV1Api);
  return {
    async review(token) {
      let res;
      try {
        res = await api.createTokenReview({
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenReview',
            spec: audiences.length > 0 ? { token, audiences: [...audiences] } : { token },
          },
        });
      } catch (e) {
        throw new IstioLiteError(ErrorCode.External, `TokenReview failed: ${errorMessage(e)}`, {
          cause: e,
        });
      }
      const st = res.status;
      if (st?.authenticated !== true) {
        return { authenticated: false, reason: st?.error ?? 'token not authenticated' };
      }
      const user = st.user?.username ?? '';
      const m = saUser.exec(user);
      if (!m?.[1] || !m[2]) {
        return { authenticated: false, reason: `token belongs to "${user}", not a ServiceAccount` };
      }
      return { authenticated: true, namespace: m[1], serviceAccount: m[2] };
    },
  };
}
