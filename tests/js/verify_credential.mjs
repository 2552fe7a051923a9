// An independent verifier of our credentials: Digital Bazaar's libraries (@digitalbazaar/vc,
// data-integrity, eddsa-rdfc-2022-cryptosuite), which share no code with sidecar/credentials.
//
// Usage: node tests/js/verify_credential.mjs INPUT.json
// INPUT: {"credential": {...}, "contexts": {url: context}, "documents": {url: document}}
// Prints one line of JSON: {"verified": bool, "error": string|null, "status": {...}|null}.
//
// The document loader serves only what INPUT holds and throws for any other URL, so verifying
// never reaches the network: a credential that needs anything we did not hand over fails.
// A credential with a BitstringStatusListEntry is checked against the status list credential
// in `documents` (its signature verified by the same suite, then its bit read), because
// @digitalbazaar/vc refuses a credential with `credentialStatus` without a checkStatus function.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

import { DataIntegrityProof } from "@digitalbazaar/data-integrity";
import { cryptosuite as eddsaRdfc2022 } from "@digitalbazaar/eddsa-rdfc-2022-cryptosuite";
import * as vc from "@digitalbazaar/vc";

function loaderFor(contexts, documents) {
  return async (url) => {
    if (Object.hasOwn(contexts, url)) {
      return { contextUrl: null, documentUrl: url, document: contexts[url] };
    }
    if (Object.hasOwn(documents, url)) {
      return { contextUrl: null, documentUrl: url, document: documents[url] };
    }
    throw new Error(`refused to load ${url}: not in the verifier's input (no network access)`);
  };
}

function errorText(error) {
  if (!error) {
    return null;
  }
  // jsonld-signatures wraps failures in a VerificationError holding the individual errors.
  const inner = Array.isArray(error.errors) ? error.errors.map(errorText) : [];
  const own = error.message || String(error);
  return inner.length ? `${own}: ${inner.join("; ")}` : own;
}

function bitIsSet(encodedList, index) {
  if (typeof encodedList !== "string" || !encodedList.startsWith("u")) {
    throw new Error("encodedList is not multibase base64url");
  }
  const bits = gunzipSync(Buffer.from(encodedList.slice(1), "base64url"));
  if (!Number.isInteger(index) || index < 0 || index >= bits.length * 8) {
    throw new Error(`status index ${index} is outside the list`);
  }
  // Bitstring Status List v1.0: bit 0 is the most significant bit of the first byte.
  return (bits[Math.floor(index / 8)] & (0x80 >> (index % 8))) !== 0;
}

function statusChecker(documents, suite, documentLoader) {
  return async ({ credential }) => {
    const entry = credential.credentialStatus;
    if (entry.type !== "BitstringStatusListEntry" || entry.statusPurpose !== "revocation") {
      return { verified: false, error: `unsupported credentialStatus ${entry.type}/${entry.statusPurpose}` };
    }
    const list = documents[entry.statusListCredential];
    if (!list) {
      return { verified: false, error: `status list ${entry.statusListCredential} was not given` };
    }
    const listResult = await vc.verifyCredential({ credential: list, suite, documentLoader });
    if (!listResult.verified) {
      return { verified: false, error: `status list: ${errorText(listResult.error)}` };
    }
    const listIssuer = typeof list.issuer === "string" ? list.issuer : list.issuer?.id;
    const issuer = typeof credential.issuer === "string" ? credential.issuer : credential.issuer?.id;
    if (listIssuer !== issuer) {
      return { verified: false, error: "the status list is not issued by the credential's issuer" };
    }
    const revoked = bitIsSet(list.credentialSubject.encodedList, Number(entry.statusListIndex));
    return revoked ? { verified: false, error: "revoked" } : { verified: true };
  };
}

async function main() {
  const path = process.argv[2];
  if (!path) {
    throw new Error("usage: node verify_credential.mjs INPUT.json");
  }
  const input = JSON.parse(readFileSync(path, "utf8"));
  const contexts = input.contexts || {};
  const documents = input.documents || {};
  const documentLoader = loaderFor(contexts, documents);
  const suite = new DataIntegrityProof({ cryptosuite: eddsaRdfc2022 });
  const result = await vc.verifyCredential({
    credential: input.credential, suite, documentLoader,
    checkStatus: statusChecker(documents, suite, documentLoader),
  });
  const status = result.statusResult || null;
  let error = errorText(result.error);
  if (!error && status && !status.verified) {
    error = `status: ${status.error}`;
  }
  if (!error && !result.verified) {
    error = (result.results || []).map((r) => errorText(r.error)).filter(Boolean).join("; ") || "not verified";
  }
  process.stdout.write(JSON.stringify({ verified: Boolean(result.verified), error, status }) + "\n");
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ verified: false, error: `verifier failed: ${errorText(error)}` }) + "\n");
  process.exitCode = 2;
});
