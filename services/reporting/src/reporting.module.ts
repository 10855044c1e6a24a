import { EventRepository, StatsRepository } from '@ser/data';
import type { MongoConnection } from '@ser/mongo';
import { CoreModule, MONGO } from '@ser/runtime';
import type { CoreOptions } from '@ser/runtime';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { RecordEventProcessor } from './jobs/record-event.processor';
import { RecordEventUseCase } from './projection/record-event.use-case';
import { StatsSettler } from './projection/stats-settler';
import { StatsPurger } from './retention/stats-purger';

@Module({})
export class ReportingModule {
  static register(core: CoreOptions): DynamicModule {
    return {
      module: ReportingModule,
      imports: [CoreModule.forRoot(core)],
      providers: [
        {
          provide: StatsRepository,
          useFactory: (m: MongoConnection) => new StatsRepository(m.db),
          inject: [MONGO],
        },
        {
          provide: EventRepository,
          useFactory: (m: MongoConnection) => new EventRepository(m.db),
          inject: [MONGO],
        },
        RecordEventUseCase,
        RecordEventProcessor,
        StatsSettler,
        StatsPurger,
      ],
    };
  }
}
