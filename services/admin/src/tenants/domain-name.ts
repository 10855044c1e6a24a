/** A lowercase DNS name of at least two labels (RFC 1035 §2.3.4 lengths). */
export const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;
