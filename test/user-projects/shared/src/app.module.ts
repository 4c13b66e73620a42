import { Module } from '@nestjs/common';
import { ShardingModule } from 'nestjs-sharding';
import { PingHandler } from './ping.handler.js';

@Module({
  imports: [ShardingModule.forRoot({ totalShards: 1 })],
  providers: [PingHandler],
})
export class AppModule {}
