// Owns loading @peculiar/x509 on Node's WebCrypto; imported lazily, only when a certificate is made or a CRL read.
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
export const X509Crl = x509.X509Crl;
