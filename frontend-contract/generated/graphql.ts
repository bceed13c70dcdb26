/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** Date with time (isoformat) */
  DateTime: { input: string; output: string; }
  /** The `JSON` scalar type represents JSON values as specified by [ECMA-404](https://ecma-international.org/wp-content/uploads/ECMA-404_2nd_edition_december_2017.pdf). */
  JSON: { input: unknown; output: unknown; }
};

export type ActivityProgressInput = {
  actualEnd?: InputMaybe<Scalars['DateTime']['input']>;
  actualStart?: InputMaybe<Scalars['DateTime']['input']>;
  expectedEnd?: InputMaybe<Scalars['DateTime']['input']>;
  note?: InputMaybe<Scalars['String']['input']>;
  percentComplete?: InputMaybe<Scalars['Int']['input']>;
  state?: InputMaybe<ActivityState>;
};

export type ActivityState =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PLANNED';

export type CharacteristicInput = {
  name: Scalars['String']['input'];
  value: Scalars['String']['input'];
};

export type ContactInput = {
  email?: InputMaybe<Scalars['String']['input']>;
  name: Scalars['String']['input'];
  phone?: InputMaybe<Scalars['String']['input']>;
  role?: InputMaybe<Scalars['String']['input']>;
};

export type CreateCustomerOrderInput = {
  characteristics?: InputMaybe<Array<CharacteristicInput>>;
  /** The agreed committed availability date (future). */
  committedDate: Scalars['DateTime']['input'];
  contacts?: InputMaybe<Array<ContactInput>>;
  customerId: Scalars['String']['input'];
  customerName: Scalars['String']['input'];
  description?: InputMaybe<Scalars['String']['input']>;
  items: Array<OrderItemInput>;
  priority?: Priority;
  /** When the sales request was made (default now). */
  requestedAt?: InputMaybe<Scalars['DateTime']['input']>;
  /** The initiating sales request; one order per sales request. */
  salesRequestRef: Scalars['String']['input'];
};

export type CustomerOrderFilter = {
  /** Committed date on or after. */
  committedFrom?: InputMaybe<Scalars['DateTime']['input']>;
  /** Committed date before. */
  committedTo?: InputMaybe<Scalars['DateTime']['input']>;
  customerId?: InputMaybe<Scalars['String']['input']>;
  jeopardyLevels?: InputMaybe<Array<JeopardyLevel>>;
  priorities?: InputMaybe<Array<Priority>>;
  states?: InputMaybe<Array<OrderState>>;
  /** Part of the sales request reference or customer name. */
  text?: InputMaybe<Scalars['String']['input']>;
};

/** Who delivers an item: the enterprise itself, or another party. */
export type Fulfillment =
  | 'INTERNAL'
  | 'PARTY';

export type ItemAction =
  | 'ADD'
  | 'DELETE'
  | 'MODIFY';

/** How far an order or piece of work is from meeting its date. */
export type JeopardyLevel =
  | 'AT_RISK'
  | 'JEOPARDY'
  | 'LATE'
  | 'NONE';

export type OrderItemInput = {
  action?: ItemAction;
  characteristics?: InputMaybe<Array<CharacteristicInput>>;
  children?: InputMaybe<Array<OrderItemInput>>;
  fulfillment?: Fulfillment;
  /** The party that delivers a party-fulfilled item. */
  partyId?: InputMaybe<Scalars['ID']['input']>;
  productRef: Scalars['String']['input'];
  quantity?: Scalars['Int']['input'];
};

/** TMF622 ProductOrderItem states. */
export type OrderItemState =
  | 'ACKNOWLEDGED'
  | 'ASSESSING_CANCELLATION'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PENDING'
  | 'PENDING_CANCELLATION'
  | 'REJECTED';

export type OrderSortField =
  | 'COMMITTED_DATE'
  | 'CREATED_AT'
  | 'PRIORITY'
  | 'SALES_REQUEST_REF'
  | 'UPDATED_AT';

/** TMF622 ProductOrder states. */
export type OrderState =
  | 'ACKNOWLEDGED'
  | 'ASSESSING_CANCELLATION'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PARTIAL'
  | 'PENDING'
  | 'PENDING_CANCELLATION'
  | 'REJECTED';

export type Priority =
  | 'CRITICAL'
  | 'HIGH'
  | 'LOW'
  | 'NORMAL';

export type ScheduleActivityInput = {
  assignee?: InputMaybe<Scalars['String']['input']>;
  itemId?: InputMaybe<Scalars['ID']['input']>;
  kind: Scalars['String']['input'];
  note?: InputMaybe<Scalars['String']['input']>;
  plannedEnd: Scalars['DateTime']['input'];
  plannedStart: Scalars['DateTime']['input'];
  predecessorIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  workGroup?: InputMaybe<Scalars['String']['input']>;
};

/** TMF641 ServiceOrder states used by service order requests. */
export type ServiceOrderRequestState =
  | 'ACKNOWLEDGED'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'REJECTED';

export type SortDirection =
  | 'ASC'
  | 'DESC';

/** Only the fields given change. Characteristics are merged by name. */
export type UpdateCustomerOrderInput = {
  characteristics?: InputMaybe<Array<CharacteristicInput>>;
  committedDate?: InputMaybe<Scalars['DateTime']['input']>;
  contacts?: InputMaybe<Array<ContactInput>>;
  customerName?: InputMaybe<Scalars['String']['input']>;
  description?: InputMaybe<Scalars['String']['input']>;
  priority?: InputMaybe<Priority>;
  removeCharacteristics?: InputMaybe<Array<Scalars['String']['input']>>;
};

export type ActivityState =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PLANNED';

export type CustomerOrderFilter = {
  /** Committed date on or after. */
  committedFrom?: string | null | undefined;
  /** Committed date before. */
  committedTo?: string | null | undefined;
  customerId?: string | null | undefined;
  jeopardyLevels?: Array<JeopardyLevel> | null | undefined;
  priorities?: Array<Priority> | null | undefined;
  states?: Array<OrderState> | null | undefined;
  /** Part of the sales request reference or customer name. */
  text?: string | null | undefined;
};

/** Who delivers an item: the enterprise itself, or another party. */
export type Fulfillment =
  | 'INTERNAL'
  | 'PARTY';

export type ItemAction =
  | 'ADD'
  | 'DELETE'
  | 'MODIFY';

/** How far an order or piece of work is from meeting its date. */
export type JeopardyLevel =
  | 'AT_RISK'
  | 'JEOPARDY'
  | 'LATE'
  | 'NONE';

/** TMF622 ProductOrderItem states. */
export type OrderItemState =
  | 'ACKNOWLEDGED'
  | 'ASSESSING_CANCELLATION'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PENDING'
  | 'PENDING_CANCELLATION'
  | 'REJECTED';

export type OrderSortField =
  | 'COMMITTED_DATE'
  | 'CREATED_AT'
  | 'PRIORITY'
  | 'SALES_REQUEST_REF'
  | 'UPDATED_AT';

/** TMF622 ProductOrder states. */
export type OrderState =
  | 'ACKNOWLEDGED'
  | 'ASSESSING_CANCELLATION'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PARTIAL'
  | 'PENDING'
  | 'PENDING_CANCELLATION'
  | 'REJECTED';

export type Priority =
  | 'CRITICAL'
  | 'HIGH'
  | 'LOW'
  | 'NORMAL';

/** TMF641 ServiceOrder states used by service order requests. */
export type ServiceOrderRequestState =
  | 'ACKNOWLEDGED'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'REJECTED';

export type SortDirection =
  | 'ASC'
  | 'DESC';

export type OrderSummaryFragment = { id: string, salesRequestRef: string, customerId: string, customerName: string, priority: Priority, state: OrderState, committedDate: string, expectedCompletion: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, jeopardySince: string | null, escalationLevel: number, version: number, updatedAt: string };

export type ActivityFieldsFragment = { id: string, itemId: string | null, kind: string, state: ActivityState, plannedStart: string, plannedEnd: string, actualStart: string | null, actualEnd: string | null, expectedEnd: string | null, percentComplete: number, workGroup: string | null, assignee: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, predecessorIds: Array<string>, version: number };

export type ServiceOrderRequestFieldsFragment = { id: string, itemId: string, state: ServiceOrderRequestState, externalRef: string | null, note: string | null, updatedAt: string };

export type ItemFieldsFragment = { id: string, parentId: string | null, productRef: string, action: ItemAction, quantity: number, fulfillment: Fulfillment, partyId: string | null, state: OrderItemState };

export type EventFieldsFragment = { sequence: number, cursor: string, type: string, at: string, actor: string, actorRole: string, entity: string, entityId: string, orderId: string | null, partyOrderId: string | null, before: unknown, after: unknown, details: unknown };

export type JeopardyCountsQueryVariables = Exact<{
  states?: Array<OrderState> | OrderState | null | undefined;
}>;


export type JeopardyCountsQuery = { all: { totalCount: number }, none: { totalCount: number }, atRisk: { totalCount: number }, jeopardy: { totalCount: number }, late: { totalCount: number } };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { name: string, role: string, partyId: string | null } };

export type OrderListQueryVariables = Exact<{
  filter?: CustomerOrderFilter | null | undefined;
  sort?: OrderSortField;
  direction?: SortDirection;
  first?: number;
  after?: string | null | undefined;
}>;


export type OrderListQuery = { customerOrders: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, node: { id: string, salesRequestRef: string, customerId: string, customerName: string, priority: Priority, state: OrderState, committedDate: string, expectedCompletion: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, jeopardySince: string | null, escalationLevel: number, version: number, updatedAt: string } }> } };

export type OrderTimelineQueryVariables = Exact<{
  orderId: string | number;
  first?: number;
  after?: string | null | undefined;
}>;


export type OrderTimelineQuery = { orderTimeline: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { sequence: number, cursor: string, type: string, at: string, actor: string, actorRole: string, entity: string, entityId: string, orderId: string | null, partyOrderId: string | null, before: unknown, after: unknown, details: unknown } }> } };

export type OrderTreeQueryVariables = Exact<{
  id: string | number;
}>;


export type OrderTreeQuery = { customerOrder: { stateReason: string | null, description: string | null, requestedAt: string, createdAt: string, completedAt: string | null, id: string, salesRequestRef: string, customerId: string, customerName: string, priority: Priority, state: OrderState, committedDate: string, expectedCompletion: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, jeopardySince: string | null, escalationLevel: number, version: number, updatedAt: string, contacts: Array<{ name: string, role: string | null, email: string | null, phone: string | null }>, characteristics: Array<{ name: string, value: string }>, items: Array<{ id: string, parentId: string | null, productRef: string, action: ItemAction, quantity: number, fulfillment: Fulfillment, partyId: string | null, state: OrderItemState, serviceOrderRequest: { id: string, itemId: string, state: ServiceOrderRequestState, externalRef: string | null, note: string | null, updatedAt: string } | null, children: Array<{ id: string, parentId: string | null, productRef: string, action: ItemAction, quantity: number, fulfillment: Fulfillment, partyId: string | null, state: OrderItemState, serviceOrderRequest: { id: string, itemId: string, state: ServiceOrderRequestState, externalRef: string | null, note: string | null, updatedAt: string } | null, children: Array<{ id: string, parentId: string | null, productRef: string, action: ItemAction, quantity: number, fulfillment: Fulfillment, partyId: string | null, state: OrderItemState }> }> }>, activities: Array<{ id: string, itemId: string | null, kind: string, state: ActivityState, plannedStart: string, plannedEnd: string, actualStart: string | null, actualEnd: string | null, expectedEnd: string | null, percentComplete: number, workGroup: string | null, assignee: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, predecessorIds: Array<string>, version: number }>, serviceOrderRequests: Array<{ id: string, itemId: string, state: ServiceOrderRequestState, externalRef: string | null, note: string | null, updatedAt: string }>, notes: Array<{ id: string, text: string, author: string, createdAt: string }> } | null };
