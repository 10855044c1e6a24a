import { CoreModule } from '@ser/runtime';
import type { CoreOptions } from '@ser/runtime';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { RecordEventProcessor } from './jobs/record-event.processor';
import { RecordEventUseCase } from './projection/record-event.use-case';

@Module({})
export class ReportingModule {
  static register(core: CoreOptions): DynamicModule {
    return {
      module: ReportingModule,
      imports: [CoreModule.forRoot(core)],
      providers: [RecordEventUseCase, RecordEventProcessor],
    };
  }
}
