import { CoreModule } from '@ser/runtime';
import type { CoreOptions } from '@ser/runtime';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { ScanMessageProcessor } from './jobs/scan-message.processor';
import { AttachmentInspector } from './scan/attachment-inspector';
import { ClamdClient } from './scan/clamd-client';
import { ClamdProbe } from './scan/clamd-probe';
import { ScanMessageUseCase } from './scan/scan-message.use-case';
import { SpamdEngine } from './spam/spamd-engine';
import { SpamscannerEngine } from './spam/spamscanner-engine';

@Module({})
export class ScannerModule {
  static register(core: CoreOptions): DynamicModule {
    return {
      module: ScannerModule,
      imports: [CoreModule.forRoot(core)],
      providers: [
        ClamdClient,
        ClamdProbe,
        AttachmentInspector,
        SpamscannerEngine,
        SpamdEngine,
        ScanMessageUseCase,
        ScanMessageProcessor,
      ],
    };
  }
}
