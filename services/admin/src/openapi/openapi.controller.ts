import { Controller, Get, Header } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { DOCS_CSP, DOCS_HTML, DOCS_SCRIPT } from './docs-page';
import { buildOpenApiDocument } from './openapi-document';
import { adminRoutes } from './routes';

/** The OpenAPI document of the routes this service really serves, and a page to browse it. */
@Controller()
export class OpenApiController {
  private document: Promise<string> | undefined;

  @Get('openapi.json')
  @Access('public')
  @Header('content-type', 'application/json; charset=utf-8')
  openApi(): Promise<string> {
    // Built once, on first request: the routes cannot change while the process runs.
    this.document ??= loadDocument();
    return this.document;
  }

  @Get('docs')
  @Access('public')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', DOCS_CSP)
  @Header('x-content-type-options', 'nosniff')
  docs(): string {
    return DOCS_HTML;
  }

  @Get('docs/app.js')
  @Access('public')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('x-content-type-options', 'nosniff')
  script(): string {
    return DOCS_SCRIPT;
  }
}

async function loadDocument(): Promise<string> {
  // Imported late: admin.module lists this controller, so a static import would be circular.
  const { ADMIN_CONTROLLERS } = await import('../admin.module');
  return JSON.stringify(buildOpenApiDocument(adminRoutes(ADMIN_CONTROLLERS)));
}
