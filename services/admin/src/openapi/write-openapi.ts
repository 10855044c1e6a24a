import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { ADMIN_CONTROLLERS } from '../admin.module';
import { buildOpenApiDocument } from './openapi-document';
import { formatOpenApiFile, OPENAPI_FILE } from './openapi-file';
import { adminRoutes } from './routes';

/*
 * `npm run openapi`: regenerates docs/openapi.json from the controllers and the operations
 * registry. Fails, writing nothing, when a route has no entry or an entry no route.
 */
writeFileSync(OPENAPI_FILE, formatOpenApiFile(buildOpenApiDocument(adminRoutes(ADMIN_CONTROLLERS))));
process.stdout.write(`wrote ${OPENAPI_FILE}\n`);
